//! The `userhub` command line: serve the API, migrate the database, and the
//! administrator's commands for tenants, API keys and custom attributes.
//!
//! Scripts rely on two promises: every failure exits non-zero with exactly
//! one line on standard error, and `api-key create` prints the new key alone
//! on the last line of standard output (and nowhere else, ever again).

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, IsTerminal, Write};
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use userhub_domain::authz::ActorRef;
use userhub_domain::credentials::ApiKey;
use userhub_domain::import::OnConflict;
use userhub_domain::repository::{
    ApiKeyRepository, AttributeRepository, CreateTenantError, DefineAttributeError,
    RevokeApiKeyError, TenantRepository,
};
use userhub_domain::tenant::{AttributeDefinition, Tenant, TenantName};
use userhub_domain::types::{ApiKeyId, AttributeName, Role, TenantId};
use userhub_storage::Store;

use crate::app::{self, open_store};
use crate::config::{Config, DEFAULT_BIND, DEFAULT_DATABASE_URL, Tunables};
use crate::import;
use crate::secrets;
use crate::state::{AppState, now};

/// userhub: one user store, served in several vendors' API dialects.
#[derive(Debug, Parser)]
#[command(name = "userhub", version, about, long_about = None)]
pub struct Cli {
    /// The database: postgres://USER@HOST/DB or sqlite://PATH (its folder is created).
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true, value_name = "URL")]
    pub database_url: String,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API (applies pending migrations first).
    Serve(ServeArgs),
    /// Apply pending database migrations.
    Migrate,
    /// Create and list tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Create, list and revoke API keys.
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
    /// Declare a tenant's custom user attributes.
    #[command(subcommand)]
    Attribute(AttributeCommand),
    /// Import users from newline-delimited JSON (docs/import.md).
    Import(ImportArgs),
    /// Export users as newline-delimited JSON, password hashes included.
    Export(ExportArgs),
}

/// `userhub import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The tenant (name or id).
    #[arg(long, value_name = "NAME")]
    pub tenant: String,
    /// The file to read, or `-` for standard input.
    #[arg(value_name = "FILE")]
    pub file: String,
    /// What to do with a line whose id, username or e-mail is taken.
    #[arg(long, value_enum, default_value = "fail")]
    pub on_conflict: ConflictArg,
    /// Check every line (against the database too) and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Write the refused lines (line number, field, code, message) to this
    /// file as JSON lines.
    #[arg(long, value_name = "FILE")]
    pub report: Option<String>,
    /// Lines written in one transaction.
    #[arg(long, default_value_t = import::DEFAULT_BATCH, value_name = "N")]
    pub batch: usize,
    /// Tunables (the argon2 cost for plaintext passwords, the pool).
    #[command(flatten)]
    pub tunables: Tunables,
}

/// `--on-conflict`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ConflictArg {
    /// Refuse the line; the import goes on.
    Fail,
    /// Keep the stored user; count the line as skipped.
    Skip,
    /// Replace the stored user with the line.
    Update,
}

/// `userhub export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The tenant (name or id).
    #[arg(long, value_name = "NAME")]
    pub tenant: String,
    /// The file to write (standard output when left out).
    #[arg(value_name = "FILE")]
    pub file: Option<String>,
    /// Export deleted users too.
    #[arg(long)]
    pub include_deleted: bool,
}

/// `userhub serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "USERHUB_BIND", default_value = DEFAULT_BIND, value_name = "HOST:PORT")]
    pub bind: String,
    /// Tunables.
    #[command(flatten)]
    pub tunables: Tunables,
}

/// `userhub tenant ...`.
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant (its name: lowercase letters, digits, '.', '_', '-').
    Create {
        /// The tenant's name.
        name: String,
    },
    /// List the tenants.
    List,
}

/// `userhub api-key ...`.
#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create an API key; the key is printed once, alone on the last line.
    Create {
        /// The tenant the key acts in (name or id).
        #[arg(long, value_name = "NAME")]
        tenant: String,
        /// A role the key carries (repeat for several): GUEST, API_USER,
        /// STANDARD_USER, POWER_USER, EXTENDED_USER, ADMIN.
        #[arg(long = "role", value_name = "ROLE", required = true)]
        roles: Vec<String>,
        /// A note saying what the key is for.
        #[arg(long, value_name = "TEXT")]
        label: Option<String>,
    },
    /// List a tenant's API keys (never the keys themselves).
    List {
        /// The tenant (name or id).
        #[arg(long, value_name = "NAME")]
        tenant: String,
    },
    /// Revoke an API key: it authenticates nothing from now on.
    Revoke {
        /// The key's id (from `api-key list`).
        id: String,
    },
}

/// `userhub attribute ...`.
#[derive(Debug, Subcommand)]
pub enum AttributeCommand {
    /// Declare a custom attribute users of the tenant may carry.
    Define {
        /// The tenant (name or id).
        #[arg(long, value_name = "NAME")]
        tenant: String,
        /// The attribute's name.
        attribute: String,
        /// What the attribute is for.
        #[arg(long, value_name = "TEXT")]
        description: Option<String>,
    },
}

/// The binary's entry point: parse, run, and turn any failure into one line
/// on standard error and a non-zero exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(&error),
    };
    init_logging(matches!(cli.command, Command::Serve(_)));
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn usage_error(error: &clap::Error) -> ExitCode {
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = error.print();
            ExitCode::SUCCESS
        }
        _ => {
            let rendered = error.render().to_string();
            let line = rendered
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("error: invalid command line")
                .trim();
            eprintln!("{line} (see `userhub --help`)");
            ExitCode::from(2)
        }
    }
}

/// `serve` logs at info by default; the other commands stay quiet so that a
/// failure is exactly one line. `RUST_LOG` overrides both.
fn init_logging(serving: bool) {
    let default = if serving { "info" } else { "off" };
    let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default))
        .try_init();
}

/// Run a parsed command line.
pub fn run(cli: Cli) -> Result<(), String> {
    let database_url = cli.database_url;
    match cli.command {
        Command::Serve(args) => {
            let config = Config::from_tunables(args.bind, database_url, &args.tunables)?;
            actix_web::rt::System::new().block_on(app::serve(config))
        }
        Command::Migrate => {
            open(&database_url)?;
            println!("the database is up to date");
            Ok(())
        }
        Command::Tenant(command) => tenant(&open(&database_url)?, command),
        Command::ApiKey(command) => api_key(&open(&database_url)?, command),
        Command::Attribute(command) => attribute(&open(&database_url)?, command),
        Command::Import(args) => import_users(&database_url, args),
        Command::Export(args) => export_users(&database_url, args),
    }
}

fn import_users(database_url: &str, args: ImportArgs) -> Result<(), String> {
    let config = Config::from_tunables(
        DEFAULT_BIND.to_owned(),
        database_url.to_owned(),
        &args.tunables,
    )?;
    let store = open_store(&config)?;
    let tenant = find_tenant(&store, &args.tenant)?;
    let state = AppState::new(store, config)?;
    let input: Box<dyn BufRead> = if args.file == "-" {
        Box::new(BufReader::new(std::io::stdin().lock()))
    } else {
        let file = File::open(&args.file).map_err(|e| format!("cannot read {}: {e}", args.file))?;
        Box::new(BufReader::with_capacity(256 * 1024, file))
    };
    let mut report = match &args.report {
        Some(path) => Some(BufWriter::new(
            File::create(path).map_err(|e| format!("cannot write {path}: {e}"))?,
        )),
        None => None,
    };
    let progress = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {pos} lines  {per_sec}  {elapsed}  {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let options = import::ImportOptions {
        tenant: tenant.id,
        by: ActorRef::System,
        on_conflict: match args.on_conflict {
            ConflictArg::Fail => OnConflict::Fail,
            ConflictArg::Skip => OnConflict::Skip,
            ConflictArg::Update => OnConflict::Update,
        },
        dry_run: args.dry_run,
        batch: args.batch,
    };
    let mut report_error = None;
    let mut refused = 0u64;
    let outcome = import::import(&state, options, input, |result| {
        progress.inc(1);
        if result.outcome != "refused" {
            return;
        }
        refused += 1;
        progress.set_message(format!("{refused} refused"));
        if let Some(report) = &mut report {
            for error in &result.errors {
                let line = serde_json::json!({
                    "line": result.line,
                    "field": error.field,
                    "code": error.code,
                    "message": error.message,
                });
                let written = serde_json::to_writer(&mut *report, &line)
                    .map_err(std::io::Error::from)
                    .and_then(|()| report.write_all(b"\n"));
                if let Err(e) = written {
                    report_error.get_or_insert(e);
                }
            }
        }
    });
    progress.finish_and_clear();
    if let Some(report) = &mut report {
        report
            .flush()
            .map_err(|e| format!("cannot write the report: {e}"))?;
    }
    if let Some(e) = report_error {
        return Err(format!("cannot write the report: {e}"));
    }
    let summary = outcome.map_err(|e| {
        format!(
            "import stopped: {e} (finished batches are kept; run it again with --on-conflict skip)"
        )
    })?;
    println!(
        "{}{} lines: {} imported, {} updated, {} skipped, {} refused in {:.1} s ({:.0} users/s)",
        if args.dry_run {
            "dry run, nothing written: "
        } else {
            ""
        },
        summary.lines,
        summary.imported,
        summary.updated,
        summary.skipped,
        summary.refused,
        summary.elapsed.as_secs_f64(),
        summary.per_second(),
    );
    Ok(())
}

fn export_users(database_url: &str, args: ExportArgs) -> Result<(), String> {
    let config = Config {
        database_url: database_url.to_owned(),
        pool_size: 2,
        ..Config::default()
    };
    let store = open_store(&config)?;
    let tenant = find_tenant(&store, &args.tenant)?;
    let state = AppState::new(store, config)?;
    let written = match &args.file {
        Some(path) => {
            let file = File::create(path).map_err(|e| format!("cannot write {path}: {e}"))?;
            import::export(
                &state,
                tenant.id,
                args.include_deleted,
                BufWriter::new(file),
            )
        }
        None => import::export(
            &state,
            tenant.id,
            args.include_deleted,
            BufWriter::new(std::io::stdout().lock()),
        ),
    }
    .map_err(|e| format!("export failed: {e}"))?;
    if args.file.is_some() {
        println!("exported {written} users of tenant {}", tenant.name);
    }
    Ok(())
}

fn open(database_url: &str) -> Result<Store, String> {
    open_store(&Config {
        database_url: database_url.to_owned(),
        pool_size: 2,
        ..Config::default()
    })
}

fn find_tenant(store: &Store, given: &str) -> Result<Tenant, String> {
    let found = if let Ok(id) = TenantId::parse(given) {
        store.get_tenant(id)
    } else {
        let name = TenantName::parse(given)
            .map_err(|e| format!("`{given}` is not a tenant name: {}", e.message))?;
        store.find_tenant_by_name(&name)
    };
    found
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no tenant `{given}` (see `userhub tenant list`)"))
}

fn tenant(store: &Store, command: TenantCommand) -> Result<(), String> {
    match command {
        TenantCommand::Create { name } => {
            let parsed = TenantName::parse(&name)
                .map_err(|e| format!("`{name}` is not a tenant name: {}", e.message))?;
            let tenant = Tenant::new(parsed, now());
            store.create_tenant(&tenant).map_err(|e| match e {
                CreateTenantError::NameTaken => format!("tenant `{name}` already exists"),
                CreateTenantError::Storage(e) => e.to_string(),
            })?;
            println!("created tenant {} ({})", tenant.name, tenant.id);
            Ok(())
        }
        TenantCommand::List => {
            let tenants = store.list_tenants().map_err(|e| e.to_string())?;
            println!("{:<36}  {:<24}  CREATED", "ID", "NAME");
            for t in tenants {
                println!("{:<36}  {:<24}  {}", t.id, t.name, t.created_at.date());
            }
            Ok(())
        }
    }
}

fn api_key(store: &Store, command: ApiKeyCommand) -> Result<(), String> {
    match command {
        ApiKeyCommand::Create {
            tenant,
            roles,
            label,
        } => {
            let tenant = find_tenant(store, &tenant)?;
            let roles = roles
                .iter()
                .map(|r| Role::parse(r).map_err(|e| format!("`{r}` is not a role: {}", e.message)))
                .collect::<Result<BTreeSet<Role>, String>>()?;
            let label = label.map(|l| l.trim().to_owned()).filter(|l| !l.is_empty());
            if label.as_ref().is_some_and(|l| l.chars().count() > 200) {
                return Err("the label must be at most 200 characters".into());
            }
            let (prefix, secret) = secrets::new_api_key();
            let key = ApiKey {
                id: ApiKeyId::new_random(),
                tenant: tenant.id,
                prefix,
                key_hash: secret.hash(),
                roles,
                label,
                created_at: now(),
                last_used_at: None,
                revoked_at: None,
            };
            store.create_api_key(&key).map_err(|e| e.to_string())?;
            println!(
                "created API key {} for tenant {} with roles {}",
                key.id,
                tenant.name,
                role_list(&key.roles)
            );
            println!("the key is shown only this once; it is on the next line:");
            println!("{}", secret.expose());
            Ok(())
        }
        ApiKeyCommand::List { tenant } => {
            let tenant = find_tenant(store, &tenant)?;
            let keys = store.list_api_keys(tenant.id).map_err(|e| e.to_string())?;
            println!(
                "{:<36}  {:<16}  {:<8}  {:<10}  {:<10}  {:<28}  LABEL",
                "ID", "PREFIX", "STATE", "CREATED", "LAST USED", "ROLES"
            );
            for k in keys {
                println!(
                    "{:<36}  {:<16}  {:<8}  {:<10}  {:<10}  {:<28}  {}",
                    k.id,
                    format!("{}{}", secrets::API_KEY_MARK, k.prefix),
                    if k.is_active() { "active" } else { "revoked" },
                    k.created_at.date(),
                    k.last_used_at
                        .map_or("-".to_owned(), |t| t.date().to_string()),
                    role_list(&k.roles),
                    k.label.as_deref().unwrap_or("")
                );
            }
            Ok(())
        }
        ApiKeyCommand::Revoke { id } => {
            let parsed = ApiKeyId::parse(&id)
                .map_err(|e| format!("`{id}` is not an API key id: {}", e.message))?;
            store.revoke_api_key(parsed, now()).map_err(|e| match e {
                RevokeApiKeyError::NotFound => format!("no API key with id {id}"),
                RevokeApiKeyError::Storage(e) => e.to_string(),
            })?;
            println!("revoked API key {parsed}");
            Ok(())
        }
    }
}

fn role_list(roles: &BTreeSet<Role>) -> String {
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn attribute(store: &Store, command: AttributeCommand) -> Result<(), String> {
    match command {
        AttributeCommand::Define {
            tenant,
            attribute,
            description,
        } => {
            let tenant = find_tenant(store, &tenant)?;
            let name = AttributeName::parse(&attribute)
                .map_err(|e| format!("`{attribute}` is not an attribute name: {}", e.message))?;
            let description = description
                .map(|d| d.trim().to_owned())
                .filter(|d| !d.is_empty());
            let definition = AttributeDefinition {
                tenant: tenant.id,
                name,
                description,
                created_at: now(),
            };
            store.define_attribute(&definition).map_err(|e| match e {
                DefineAttributeError::AlreadyDefined => format!(
                    "attribute `{attribute}` is already defined for tenant {}",
                    tenant.name
                ),
                DefineAttributeError::TenantNotFound => {
                    format!("tenant {} no longer exists", tenant.name)
                }
                DefineAttributeError::Storage(e) => e.to_string(),
            })?;
            println!(
                "defined attribute {} for tenant {}",
                definition.name.as_str(),
                tenant.name
            );
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn database_url_goes_before_or_after_the_command() {
        let before = Cli::try_parse_from(["userhub", "--database-url", "sqlite://x.db", "migrate"]);
        let after = Cli::try_parse_from(["userhub", "migrate", "--database-url", "sqlite://x.db"]);
        for parsed in [before, after] {
            assert!(
                matches!(parsed, Ok(Cli { ref database_url, .. }) if database_url == "sqlite://x.db")
            );
        }
    }

    #[test]
    fn api_key_create_needs_a_role() {
        let parsed = Cli::try_parse_from(["userhub", "api-key", "create", "--tenant", "acme"]);
        assert!(parsed.is_err());
        let parsed = Cli::try_parse_from([
            "userhub", "api-key", "create", "--tenant", "acme", "--role", "ADMIN", "--role",
            "API_USER",
        ]);
        assert!(matches!(
            parsed,
            Ok(Cli { command: Command::ApiKey(ApiKeyCommand::Create { ref roles, .. }), .. })
                if roles.len() == 2
        ));
    }
}
