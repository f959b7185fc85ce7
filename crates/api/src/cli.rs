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
use clap::{Args, CommandFactory, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use userhub_domain::admin::{self, ActorInfo, HistoryQuery};
use userhub_domain::authz::ActorRef;
use userhub_domain::credentials::ApiKey;
use userhub_domain::history::HistoryEntry;
use userhub_domain::import::OnConflict;
use userhub_domain::manage::{self, NewApiKey};
use userhub_domain::repository::{
    ApiKeyRepository, AttributeRepository, CreateTenantError, TenantRepository,
};
use userhub_domain::tenant::{Tenant, TenantName};
use userhub_domain::types::{ApiKeyId, AttributeName, Role, TenantId, UserId};
use userhub_domain::{DomainError, ValidationErrors};
use userhub_storage::Store;

use crate::app::{self, open_store};
use crate::config::{Config, DEFAULT_BIND, DEFAULT_DATABASE_URL, Tunables};
use crate::import;
use crate::logging::{self, LogFormat};
use crate::secrets;
use crate::state::{AppState, now};
use crate::toolkit::render::rfc3339;

/// userhub: one user store, served in several vendors' API dialects.
#[derive(Debug, Parser)]
#[command(name = "userhub", version, about, long_about = None, arg_required_else_help = true)]
pub struct Cli {
    /// The database: postgres://USER@HOST/DB or sqlite://PATH (its folder is created).
    /// (`--help` does not show the variable's value: it may hold a password.)
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, default_value = DEFAULT_DATABASE_URL, global = true, value_name = "URL")]
    pub database_url: String,

    /// How log lines are written: text, or one JSON object a line.
    #[arg(long, env = "USERHUB_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true, value_name = "FORMAT")]
    pub log_format: LogFormat,

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
    #[command(subcommand, arg_required_else_help = true)]
    Tenant(TenantCommand),
    /// Create, list and revoke API keys.
    #[command(subcommand, name = "api-key", arg_required_else_help = true)]
    ApiKey(ApiKeyCommand),
    /// Declare a tenant's custom user attributes.
    #[command(subcommand, arg_required_else_help = true)]
    Attribute(AttributeCommand),
    /// Read a user's history.
    #[command(subcommand, arg_required_else_help = true)]
    User(UserCommand),
    /// Import users from newline-delimited JSON (docs/import.md).
    Import(ImportArgs),
    /// Export users as newline-delimited JSON, password hashes included.
    Export(ExportArgs),
}

/// `userhub user ...`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// A user's history, newest first: who changed what, when, and why
    /// (also after the user was deleted or purged).
    History {
        /// The tenant (name or id).
        #[arg(long, value_name = "NAME")]
        tenant: String,
        /// The user's id.
        id: String,
    },
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
    /// List the tenants (a table, or JSON with --json).
    List {
        /// Print a JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
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
    /// List a tenant's API keys, never the keys themselves (a table, or JSON with --json).
    List {
        /// The tenant (name or id).
        #[arg(long, value_name = "NAME")]
        tenant: String,
        /// Print a JSON array instead of a table.
        #[arg(long)]
        json: bool,
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
    /// Remove a custom attribute no user carries.
    Remove {
        /// The tenant (name or id).
        #[arg(long, value_name = "NAME")]
        tenant: String,
        /// The attribute's name.
        attribute: String,
    },
    /// List a tenant's custom attributes.
    List {
        /// The tenant (name or id).
        #[arg(long, value_name = "NAME")]
        tenant: String,
    },
}

/// The binary's entry point: parse, run, and turn any failure into one line
/// on standard error and a non-zero exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(&error),
    };
    init_logging(matches!(cli.command, Command::Serve(_)), cli.log_format);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn usage_error(error: &clap::Error) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = error.print();
            ExitCode::SUCCESS
        }
        // `userhub` alone, or `userhub tenant`: that command's help. (With
        // DATABASE_URL set clap counts an argument as given, so it reports
        // a missing subcommand instead of showing the help itself.)
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand => {
            let mut command = reached(&args).0;
            eprint!("{}", command.render_help());
            ExitCode::from(2)
        }
        _ => {
            if let Some(line) = bad_environment_value(error, &args) {
                eprintln!("{line}");
            } else {
                eprint!("{}", with_help_hint(&error.render().to_string(), &args));
            }
            ExitCode::from(2)
        }
    }
}

/// clap's message, its closing hint naming the help of the subcommand the
/// command line reached (`userhub api-key create --help`), not the top's.
fn with_help_hint(rendered: &str, args: &[String]) -> String {
    let path = subcommand_path(args);
    rendered.replace(
        "For more information, try '--help'.",
        &format!("For more information, try '{path} --help'."),
    )
}

/// `userhub` and the subcommands `args` name, as far as they are known.
fn subcommand_path(args: &[String]) -> String {
    reached(args).1.join(" ")
}

/// The deepest subcommand `args` name, and the names leading to it.
fn reached(args: &[String]) -> (clap::Command, Vec<String>) {
    let mut command = Cli::command();
    command.build();
    let mut path = vec!["userhub".to_owned()];
    for arg in args.iter().filter(|a| !a.starts_with('-')) {
        let Some(sub) = command.find_subcommand(arg).cloned() else {
            continue;
        };
        path.push(sub.get_name().to_owned());
        command = sub;
    }
    (command, path)
}

/// A value clap refused that came from an environment variable, not the
/// command line: one line naming the variable (the promise of
/// `docs/operations.md`: a bad setting stops the service with one line).
fn bad_environment_value(error: &clap::Error, args: &[String]) -> Option<String> {
    use clap::error::{ContextKind, ContextValue};
    if !matches!(
        error.kind(),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation
    ) {
        return None;
    }
    let Some(ContextValue::String(arg)) = error.get(ContextKind::InvalidArg) else {
        return None;
    };
    let long = arg.split_whitespace().next()?.strip_prefix("--")?;
    let given = args
        .iter()
        .any(|a| a == &format!("--{long}") || a.starts_with(&format!("--{long}=")));
    if given {
        return None;
    }
    let env = find_env(&Cli::command(), long)?;
    let rendered = error.render().to_string();
    let first = rendered.lines().find(|l| !l.trim().is_empty())?.trim();
    Some(format!("{first} (from the environment variable {env})"))
}

/// The environment variable of the option `--long`, in any subcommand.
fn find_env(command: &clap::Command, long: &str) -> Option<String> {
    command
        .get_arguments()
        .find(|a| a.get_long() == Some(long))
        .and_then(|a| a.get_env())
        .map(|env| env.to_string_lossy().into_owned())
        .or_else(|| {
            command
                .get_subcommands()
                .find_map(|sub| find_env(sub, long))
        })
}

/// `serve` logs at info by default; the other commands stay quiet so that a
/// failure is exactly one line. `RUST_LOG` overrides both.
fn init_logging(serving: bool, format: LogFormat) {
    logging::init(format, if serving { "info" } else { "off" });
}

/// Run a parsed command line.
pub fn run(cli: Cli) -> Result<(), String> {
    let database_url = cli.database_url;
    if !matches!(cli.command, Command::Serve(_) | Command::Migrate) {
        must_exist(&database_url)?;
    }
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
        Command::User(command) => user(&open(&database_url)?, command),
        Command::Import(args) => {
            must_exist(&database_url)?;
            import_users(&database_url, args)
        }
        Command::Export(args) => {
            must_exist(&database_url)?;
            export_users(&database_url, args)
        }
    }
}

/// An administrator's command on a SQLite file that does not exist is a
/// mistake (a typo in the path), not a wish for an empty database: only
/// `serve` and `migrate` create one.
fn must_exist(database_url: &str) -> Result<(), String> {
    match userhub_storage::sqlite_file(database_url) {
        Some(path) if !path.exists() => Err(format!(
            "no database at {}: check --database-url (or DATABASE_URL), or create it with `userhub migrate`",
            path.display()
        )),
        _ => Ok(()),
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
        TenantCommand::List { json } => {
            let tenants = store.list_tenants().map_err(|e| e.to_string())?;
            let columns = ["ID", "NAME", "CREATED"];
            let as_json = |t: &Tenant| {
                serde_json::json!({
                    "id": t.id.to_string(),
                    "name": t.name.to_string(),
                    "createdAt": rfc3339(t.created_at),
                })
            };
            let row = |t: &Tenant| {
                let created = t.created_at.date().to_string();
                vec![t.id.to_string(), t.name.to_string(), created]
            };
            print_list(json, &tenants, as_json, &columns, row)
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
            let label = manage::parse_label(label.as_deref())
                .map_err(|e| format!("the label {}", e.message))?;
            let (prefix, secret) = secrets::new_api_key();
            let new = NewApiKey {
                roles,
                label,
                prefix,
                key_hash: secret.hash(),
                errors: ValidationErrors::new(),
            };
            let key =
                manage::create_api_key(store, tenant.id, new, now()).map_err(|e| e.to_string())?;
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
        ApiKeyCommand::List { tenant, json } => {
            let tenant = find_tenant(store, &tenant)?;
            let keys = store.list_api_keys(tenant.id).map_err(|e| e.to_string())?;
            let state = |k: &ApiKey| if k.is_active() { "active" } else { "revoked" };
            let prefix = |k: &ApiKey| format!("{}{}", secrets::API_KEY_MARK, k.prefix);
            let as_json = |k: &ApiKey| {
                serde_json::json!({
                    "id": k.id.to_string(),
                    "prefix": prefix(k),
                    "state": state(k),
                    "roles": k.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                    "label": k.label,
                    "createdAt": rfc3339(k.created_at),
                    "lastUsedAt": k.last_used_at.map(rfc3339),
                    "revokedAt": k.revoked_at.map(rfc3339),
                })
            };
            let columns = [
                "ID",
                "PREFIX",
                "STATE",
                "CREATED",
                "LAST USED",
                "ROLES",
                "LABEL",
            ];
            let row = |k: &ApiKey| {
                vec![
                    k.id.to_string(),
                    prefix(k),
                    state(k).to_owned(),
                    k.created_at.date().to_string(),
                    k.last_used_at
                        .map_or("-".to_owned(), |t| t.date().to_string()),
                    role_list(&k.roles),
                    k.label.clone().unwrap_or_default(),
                ]
            };
            print_list(json, &keys, as_json, &columns, row)
        }
        ApiKeyCommand::Revoke { id } => {
            let parsed = ApiKeyId::parse(&id)
                .map_err(|e| format!("`{id}` is not an API key id: {}", e.message))?;
            manage::revoke_api_key(store, None, parsed, now()).map_err(|e| match e {
                DomainError::NotFound(_) => format!("no API key with id {id}"),
                other => other.to_string(),
            })?;
            println!("revoked API key {parsed}");
            Ok(())
        }
    }
}

/// A table with `header`, aligned in columns, without borders (so that
/// `awk '{print $1}'` and friends still work on it).
fn table(header: &[&str]) -> comfy_table::Table {
    let mut table = comfy_table::Table::new();
    table
        .load_style(comfy_table::presets::NOTHING)
        .set_content_arrangement(comfy_table::ContentArrangement::Disabled)
        .set_header(header.iter().copied());
    table
}

/// `items` as a JSON array of `as_json` (with `--json`), or as a table of
/// `columns` with a `row` each.
fn print_list<T>(
    json: bool,
    items: &[T],
    as_json: impl Fn(&T) -> serde_json::Value,
    columns: &[&str],
    row: impl Fn(&T) -> Vec<String>,
) -> Result<(), String> {
    if json {
        let rows: Vec<serde_json::Value> = items.iter().map(as_json).collect();
        return print_json(&rows);
    }
    let mut table = table(columns);
    for item in items {
        table.add_row(row(item));
    }
    println!("{table}");
    Ok(())
}

fn print_json(rows: &[serde_json::Value]) -> Result<(), String> {
    let text = serde_json::to_string_pretty(rows).map_err(|e| e.to_string())?;
    println!("{text}");
    Ok(())
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
            let description = manage::parse_description(description.as_deref())
                .map_err(|e| format!("the description {}", e.message))?;
            let definition = manage::define_attribute(store, tenant.id, name, description, now())
                .map_err(|e| match e {
                DomainError::Conflict(_) => format!(
                    "attribute `{attribute}` is already defined for tenant {}",
                    tenant.name
                ),
                DomainError::NotFound(_) => {
                    format!("tenant {} no longer exists", tenant.name)
                }
                other => other.to_string(),
            })?;
            println!(
                "defined attribute {} for tenant {}",
                definition.name.as_str(),
                tenant.name
            );
            Ok(())
        }
        AttributeCommand::Remove { tenant, attribute } => {
            let tenant = find_tenant(store, &tenant)?;
            let name = AttributeName::parse(&attribute)
                .map_err(|e| format!("`{attribute}` is not an attribute name: {}", e.message))?;
            manage::remove_attribute(store, tenant.id, &name).map_err(|e| match e {
                DomainError::NotFound(_) => format!(
                    "attribute `{attribute}` is not defined for tenant {}",
                    tenant.name
                ),
                DomainError::Validation(_) => format!(
                    "attribute `{attribute}` is in use: users of tenant {} still carry a value for it",
                    tenant.name
                ),
                other => other.to_string(),
            })?;
            println!("removed attribute {attribute} of tenant {}", tenant.name);
            Ok(())
        }
        AttributeCommand::List { tenant } => {
            let tenant = find_tenant(store, &tenant)?;
            let definitions = store
                .list_attributes(tenant.id)
                .map_err(|e| e.to_string())?;
            println!("{:<32}  {:<10}  DESCRIPTION", "NAME", "DEFINED");
            for d in definitions {
                println!(
                    "{:<32}  {:<10}  {}",
                    d.name.as_str(),
                    d.created_at.date(),
                    d.description.as_deref().unwrap_or("")
                );
            }
            Ok(())
        }
    }
}

fn user(store: &Store, command: UserCommand) -> Result<(), String> {
    match command {
        UserCommand::History { tenant, id } => {
            let tenant = find_tenant(store, &tenant)?;
            let user = UserId::parse(&id)
                .map_err(|e| format!("`{id}` is not a user id: {}", e.message))?;
            println!(
                "{:<7}  {:<27}  {:<48}  CHANGES / COMMENT",
                "VERSION", "AT", "ACTOR"
            );
            let mut before = None;
            loop {
                let query = HistoryQuery {
                    user,
                    before,
                    limit: admin::MAX_PAGE,
                };
                let page = admin::history_of(store, tenant.id, query).map_err(|e| match e {
                    DomainError::NotFound(_) => {
                        format!(
                            "no user {id} in tenant {} (nor any history of one)",
                            tenant.name
                        )
                    }
                    other => other.to_string(),
                })?;
                for entry in &page.entries {
                    print_history_entry(entry, &page.actors);
                }
                match page.next {
                    Some(next) => before = Some(next),
                    None => return Ok(()),
                }
            }
        }
    }
}

/// One history entry: a line with the version, time and actor, a line per
/// changed field (a secret only says it changed), and the comment.
fn print_history_entry(entry: &HistoryEntry, actors: &admin::Actors) {
    let actor = match actors.get(entry.actor) {
        ActorInfo::ApiKey { id, label } => match label {
            Some(label) => format!("api-key {id} ({label})"),
            None => format!("api-key {id}"),
        },
        ActorInfo::User { id, username } => match username {
            Some(username) => format!("user {id} ({username})"),
            None => format!("user {id}"),
        },
        ActorInfo::System => "system".to_owned(),
    };
    let at = entry
        .at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| entry.at.to_string());
    println!("{:<7}  {:<27}  {:<48}", entry.version, at, actor);
    for change in &entry.changes {
        if change.field.is_secret() {
            println!("         {}: changed", change.field);
        } else {
            println!(
                "         {}: {} -> {}",
                change.field, change.old, change.new
            );
        }
    }
    if let Some(comment) = &entry.comment {
        println!("         comment: {}", comment.as_str());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
