//! Import and export of users as newline-delimited JSON, one user a line in
//! userhub's own shape (docs/import.md): the core under `userhub import` /
//! `userhub export` and the admin API's import and export routes, over any
//! reader and writer, so each front end only opens its input and shows its
//! progress.
//!
//! Memory stays flat in the number of lines: lines are read one at a time
//! (each at most [`MAX_LINE_BYTES`]), judged and written a batch at a time,
//! and every line's result is handed to the caller as soon as its batch is
//! done; export reads the users a page at a time.
//!
//! Security intent: the lines carry password hashes both ways, so only an
//! ADMIN (or the operator, on the command line) imports or exports; a
//! refused line's report names the field, a code and a message, never the
//! value it had.

use std::io::{self, BufRead, Read, Write};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use userhub_domain::authz::ActorRef;
use userhub_domain::error::ValueError;
use userhub_domain::import::{ImportMode, ImportOutcome, ImportUser, OnConflict, import_batch};
use userhub_domain::password::PasswordHash;
use userhub_domain::query::{Cursor, PageRequest, Sort, UserFilter, UserQuery};
use userhub_domain::repository::{ListUsersError, UserRepository};
use userhub_domain::types::{
    Account, Address, AttributeEntry, AttributeInput, BirthDate, Email, Gender, Locale, Membership,
    MfaSettings, PersonName, PhoneNumber, Platform, Remarks, Role, Status, Tag, TenantId, TimeZone,
    Title, UserId, Username, WalletAddress,
};
use userhub_domain::user::{NewUser, User, default_roles};
use userhub_domain::{DomainError, Field, ValidationErrors};

use crate::state::AppState;
use crate::toolkit::fields::{In, SecretText, parse_items, shape};

/// The longest line read; a longer one is refused (and skipped to its end).
pub const MAX_LINE_BYTES: usize = 1024 * 1024;

/// Lines judged and written together (one transaction).
pub const DEFAULT_BATCH: usize = 1000;

/// How to import.
#[derive(Debug, Clone, Copy)]
pub struct ImportOptions {
    /// Into which tenant.
    pub tenant: TenantId,
    /// Who imports (recorded in each user's history).
    pub by: ActorRef,
    /// What to do with a taken id, username or e-mail.
    pub on_conflict: OnConflict,
    /// Judge everything, write nothing.
    pub dry_run: bool,
    /// Lines a batch.
    pub batch: usize,
}

/// What became of one line, for the caller's report or stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LineResult {
    /// The line's number in the input, from 1.
    pub line: u64,
    /// `imported`, `updated`, `skipped` or `refused`.
    pub outcome: &'static str,
    /// The user's id, when imported or updated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<UserId>,
    /// Why it was refused: one entry a field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<LineError>,
}

/// One reason a line was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineError {
    /// The field, by its name in the line (`passwordHash`, `roles[1]`), or
    /// `line` for the line as a whole.
    pub field: String,
    /// A stable code (`required`, `invalid_format`, `taken`, ...).
    pub code: &'static str,
    /// A sentence for a person.
    pub message: String,
}

/// The counts of an import.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Non-blank lines read.
    pub lines: u64,
    /// Users created.
    pub imported: u64,
    /// Users replaced (`--on-conflict update`).
    pub updated: u64,
    /// Lines left out as already there.
    pub skipped: u64,
    /// Lines refused.
    pub refused: u64,
    /// How long it took.
    pub elapsed: Duration,
}

impl ImportSummary {
    /// Lines a second, over the whole import.
    pub fn per_second(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 {
            self.lines as f64 / seconds
        } else {
            0.0
        }
    }
}

/// Why an import or export stopped before the end. Lines already done
/// stay done (every batch is its own transaction); run it again with
/// `--on-conflict skip` to finish.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// Reading the input or writing the output failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The database (or the hasher) failed for a whole batch.
    #[error("{0}")]
    Domain(#[from] DomainError),
}

/// Import every line of `input` as `options` says, handing each line's
/// result to `on_line` as soon as its batch is written.
pub fn import(
    state: &AppState,
    options: ImportOptions,
    input: impl BufRead,
    mut on_line: impl FnMut(&LineResult),
) -> Result<ImportSummary, TransferError> {
    let started = Instant::now();
    let mut summary = ImportSummary::default();
    let mut lines = Lines::new(input);
    let mut batch: Vec<(u64, Result<ImportUser, ValidationErrors>)> = Vec::new();
    let batch_size = options.batch.max(1);
    loop {
        let next = lines.next_line()?;
        let done = next.is_none();
        if let Some((number, text)) = next {
            summary.lines += 1;
            batch.push((number, read_line(text)));
        }
        if batch.len() >= batch_size || (done && !batch.is_empty()) {
            let (numbers, parsed): (Vec<u64>, Vec<_>) =
                std::mem::take(&mut batch).into_iter().unzip();
            let mode = ImportMode {
                on_conflict: options.on_conflict,
                dry_run: options.dry_run,
            };
            let outcomes = state
                .with_ctx(|ctx| import_batch(ctx, options.tenant, options.by, mode, parsed))?;
            for (line, outcome) in numbers.into_iter().zip(outcomes) {
                let result = line_result(line, outcome, &mut summary);
                on_line(&result);
            }
        }
        if done {
            break;
        }
    }
    summary.elapsed = started.elapsed();
    Ok(summary)
}

fn line_result(line: u64, outcome: ImportOutcome, summary: &mut ImportSummary) -> LineResult {
    let (outcome, id, errors) = match outcome {
        ImportOutcome::Imported(id) => {
            summary.imported += 1;
            ("imported", Some(id), Vec::new())
        }
        ImportOutcome::Updated(id) => {
            summary.updated += 1;
            ("updated", Some(id), Vec::new())
        }
        ImportOutcome::Skipped => {
            summary.skipped += 1;
            ("skipped", None, Vec::new())
        }
        ImportOutcome::Refused(errors) => {
            summary.refused += 1;
            let errors = errors
                .errors()
                .iter()
                .map(|e| LineError {
                    field: field_name(&e.field),
                    code: e.code,
                    message: e.message.clone(),
                })
                .collect();
            ("refused", None, errors)
        }
    };
    LineResult {
        line,
        outcome,
        id,
        errors,
    }
}

/// A field as the line names it.
fn field_name(field: &Field) -> String {
    match field {
        Field::MembershipOrganization(i) => format!("memberships[{i}].organization"),
        other => other.domain_name().into_owned(),
    }
}

/// The input, a line at a time, each bounded.
struct Lines<R> {
    input: R,
    number: u64,
    buffer: Vec<u8>,
}

/// A line: its number and its text, or why it cannot be read.
type Line = (u64, Result<Vec<u8>, LineError>);

impl<R: BufRead> Lines<R> {
    fn new(input: R) -> Self {
        Self {
            input,
            number: 0,
            buffer: Vec::new(),
        }
    }

    /// The next non-blank line; `None` at the end.
    fn next_line(&mut self) -> io::Result<Option<Line>> {
        loop {
            self.buffer.clear();
            let limit = u64::try_from(MAX_LINE_BYTES).unwrap_or(u64::MAX) + 1;
            let read = (&mut self.input)
                .take(limit)
                .read_until(b'\n', &mut self.buffer)?;
            if read == 0 {
                return Ok(None);
            }
            self.number += 1;
            if self.buffer.len() > MAX_LINE_BYTES && self.buffer.last() != Some(&b'\n') {
                // Skip the rest of it without keeping it.
                let mut rest = Vec::new();
                loop {
                    rest.clear();
                    let n = (&mut self.input)
                        .take(64 * 1024)
                        .read_until(b'\n', &mut rest)?;
                    if n == 0 || rest.last() == Some(&b'\n') {
                        break;
                    }
                }
                let error = LineError {
                    field: "line".into(),
                    code: "too_long",
                    message: format!("is longer than {MAX_LINE_BYTES} bytes"),
                };
                return Ok(Some((self.number, Err(error))));
            }
            if self.buffer.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Ok(Some((self.number, Ok(std::mem::take(&mut self.buffer)))));
        }
    }
}

fn whole_line(code: &'static str, message: &str) -> ValidationErrors {
    let mut errors = ValidationErrors::new();
    errors.push(ValueError::new(code, message.to_owned()).at(Field::Path("line".into())));
    errors
}

/// One line, read into the domain's import command (every field error
/// collected).
fn read_line(text: Result<Vec<u8>, LineError>) -> Result<ImportUser, ValidationErrors> {
    let text = match text {
        Ok(text) => text,
        Err(e) => return Err(whole_line(e.code, &e.message)),
    };
    let object = match serde_json::from_slice::<Value>(&text) {
        Ok(Value::Object(object)) => object,
        Ok(_) => return Err(whole_line("invalid_type", "must be a JSON object")),
        Err(_) => return Err(whole_line("invalid_json", "is not valid JSON")),
    };
    let line: ImportLine =
        shape(object).map_err(|_| whole_line("invalid_type", "must be a JSON object"))?;
    line.into_command()
}

/// A line as read: every field in userhub's own camelCase shape.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ImportLine {
    id: In<String>,
    username: In<String>,
    email: In<String>,
    password: In<SecretText>,
    password_hash: In<String>,
    title: In<String>,
    first_name: In<String>,
    middle_name: In<String>,
    last_name: In<String>,
    locale: In<String>,
    time_zone: In<String>,
    gender: In<String>,
    birth_date: In<String>,
    address: In<Map<String, Value>>,
    phone: In<String>,
    fax: In<String>,
    roles: In<Vec<In<String>>>,
    status: In<String>,
    account: In<Map<String, Value>>,
    memberships: In<Vec<Value>>,
    mfa: In<Map<String, Value>>,
    allowed_login_types: In<Vec<In<u64>>>,
    tags: In<Vec<In<String>>>,
    platform: In<String>,
    attributes: In<Map<String, Value>>,
    remarks: In<String>,
    wallet_address: In<String>,
    created_at: In<String>,
}

/// A nested object read by the domain type's own (validating) `Deserialize`.
fn object<T, S>(errors: &mut ValidationErrors, path: &str, input: In<S>, what: &str) -> Option<T>
where
    T: serde::de::DeserializeOwned,
    S: crate::toolkit::fields::Expected + Into<Value>,
{
    let value: Value = input.optional(errors, path)?.into();
    match serde_json::from_value(value) {
        Ok(parsed) => Some(parsed),
        Err(_) => {
            errors.push(
                ValueError::new(
                    "invalid",
                    format!("is not a valid {what} (docs/import.md shows its shape)"),
                )
                .at(path),
            );
            None
        }
    }
}

impl ImportLine {
    fn into_command(self) -> Result<ImportUser, ValidationErrors> {
        let errors = &mut ValidationErrors::new();
        let id = self.id.parse_optional(errors, "id", UserId::parse);
        let username = self
            .username
            .parse_required(errors, "username", Username::parse);
        let email = self.email.parse_required(errors, "email", Email::parse);
        let password = self.password.optional(errors, "password");
        let hash = self
            .password_hash
            .parse_optional(errors, "passwordHash", PasswordHash::parse);
        if password.is_some() && hash.is_some() {
            errors.push(
                ValueError::new("conflict", "give passwordHash or password, not both")
                    .at("password"),
            );
        }
        let title = self.title.parse_optional(errors, "title", Title::parse);
        let first_name = self
            .first_name
            .parse_optional(errors, "firstName", PersonName::parse);
        let middle_name = self
            .middle_name
            .parse_optional(errors, "middleName", PersonName::parse);
        let last_name = self
            .last_name
            .parse_optional(errors, "lastName", PersonName::parse);
        let locale = self.locale.parse_optional(errors, "locale", Locale::parse);
        let time_zone = self
            .time_zone
            .parse_optional(errors, "timeZone", TimeZone::parse);
        let gender = self.gender.parse_optional(errors, "gender", Gender::parse);
        let birth_date = self
            .birth_date
            .parse_optional(errors, "birthDate", BirthDate::parse);
        let address: Option<Address> = object(errors, "address", self.address, "address");
        let phone = self
            .phone
            .parse_optional(errors, "phone", PhoneNumber::parse);
        let fax = self.fax.parse_optional(errors, "fax", PhoneNumber::parse);
        let roles = self
            .roles
            .optional(errors, "roles")
            .map(|list| parse_items(errors, "roles", list, Role::parse));
        let status = self.status.parse_optional(errors, "status", Status::parse);
        let account: Option<Account> = object(errors, "account", self.account, "account");
        let memberships: Option<Vec<Membership>> = object(
            errors,
            "memberships",
            self.memberships,
            "list of memberships",
        );
        let mfa: Option<MfaSettings> = object(errors, "mfa", self.mfa, "MFA settings object");
        let login_types = self
            .allowed_login_types
            .optional(errors, "allowedLoginTypes")
            .map(|list| {
                crate::toolkit::fields::items(
                    errors,
                    "allowedLoginTypes",
                    list,
                    |errors, at, value| {
                        let n = value.required(errors, at)?;
                        errors.check(
                            at,
                            u8::try_from(n).map_err(|_| {
                                ValueError::new("out_of_range", "must be from 0 to 255")
                            }),
                        )
                    },
                )
            });
        let tags = self
            .tags
            .optional(errors, "tags")
            .map(|list| parse_items(errors, "tags", list, Tag::parse));
        let platform = self
            .platform
            .parse_optional(errors, "platform", Platform::parse);
        let attributes = self
            .attributes
            .optional(errors, "attributes")
            .map(|map| attribute_input(errors, map))
            .unwrap_or_default();
        let remarks = self
            .remarks
            .parse_optional(errors, "remarks", Remarks::parse);
        let wallet_address =
            self.wallet_address
                .parse_optional(errors, "walletAddress", WalletAddress::parse);
        let created_at = self.created_at.parse_optional(errors, "createdAt", |text| {
            OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
                ValueError::new(
                    "invalid_format",
                    "must be an RFC 3339 time such as 2024-05-01T12:00:00Z",
                )
            })
        });
        let (Some(username), Some(email)) = (username, email) else {
            return Err(std::mem::take(errors));
        };
        if !errors.is_empty() {
            return Err(std::mem::take(errors));
        }
        let mut user = NewUser::new(username, email);
        user.id = id;
        user.password = hash;
        user.title = title;
        user.first_name = first_name;
        user.middle_name = middle_name;
        user.last_name = last_name;
        user.locale = locale;
        user.time_zone = time_zone;
        user.gender = gender;
        user.birth_date = birth_date;
        user.address = address.unwrap_or_default();
        user.phone = phone;
        user.fax = fax;
        user.roles = roles.map_or_else(default_roles, |r| r.into_iter().collect());
        user.status = status.unwrap_or(Status::Active);
        user.account = account.unwrap_or_default();
        user.memberships = memberships.unwrap_or_default();
        user.mfa = mfa.unwrap_or_default();
        user.allowed_login_types = login_types.unwrap_or_default().into_iter().collect();
        user.tags = tags.unwrap_or_default().into_iter().collect();
        user.platform = platform;
        user.remarks = remarks;
        user.wallet_address = wallet_address;
        Ok(ImportUser {
            user,
            password: password.map(SecretText::into_password),
            attributes,
            created_at,
        })
    }
}

/// `"attributes": {"name": "value", ...}`: each value a string.
fn attribute_input(errors: &mut ValidationErrors, map: Map<String, Value>) -> AttributeInput {
    let mut entries = Vec::new();
    for (name, value) in map {
        let path = format!("attributes.{name}");
        match value {
            Value::String(value) => entries.push(AttributeEntry {
                path,
                name,
                value: Some(value),
            }),
            _ => errors.push(ValueError::new("invalid_type", "must be a string").at(path)),
        }
    }
    AttributeInput {
        clear: false,
        entries,
    }
}

/// A user as an export line writes it: the import's shape, with its hash
/// and its times.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportLine<'a> {
    id: UserId,
    username: &'a str,
    email: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    password_hash: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a Title>,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_name: Option<&'a PersonName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    middle_name: Option<&'a PersonName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_name: Option<&'a PersonName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    locale: Option<&'a Locale>,
    #[serde(skip_serializing_if = "Option::is_none")]
    time_zone: Option<&'a TimeZone>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gender: Option<Gender>,
    #[serde(skip_serializing_if = "Option::is_none")]
    birth_date: Option<BirthDate>,
    address: &'a Address,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone: Option<&'a PhoneNumber>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fax: Option<&'a PhoneNumber>,
    roles: &'a std::collections::BTreeSet<Role>,
    status: Status,
    account: &'a Account,
    memberships: &'a [Membership],
    mfa: &'a MfaSettings,
    allowed_login_types: &'a std::collections::BTreeSet<u8>,
    tags: &'a std::collections::BTreeSet<Tag>,
    #[serde(skip_serializing_if = "Option::is_none")]
    platform: Option<&'a Platform>,
    attributes: &'a userhub_domain::types::CustomAttributes,
    #[serde(skip_serializing_if = "Option::is_none")]
    remarks: Option<&'a Remarks>,
    #[serde(skip_serializing_if = "Option::is_none")]
    wallet_address: Option<&'a WalletAddress>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    updated_at: OffsetDateTime,
}

impl<'a> ExportLine<'a> {
    /// The line for `user`.
    pub fn of(user: &'a User) -> Self {
        Self {
            id: user.id,
            username: user.username.as_str(),
            email: user.email.as_str(),
            password_hash: user.password.as_ref().map(PasswordHash::as_phc),
            title: user.title.as_ref(),
            first_name: user.first_name.as_ref(),
            middle_name: user.middle_name.as_ref(),
            last_name: user.last_name.as_ref(),
            locale: user.locale.as_ref(),
            time_zone: user.time_zone.as_ref(),
            gender: user.gender,
            birth_date: user.birth_date,
            address: &user.address,
            phone: user.phone.as_ref(),
            fax: user.fax.as_ref(),
            roles: &user.roles,
            status: user.status,
            account: &user.account,
            memberships: &user.memberships,
            mfa: &user.mfa,
            allowed_login_types: &user.allowed_login_types,
            tags: &user.tags,
            platform: user.platform.as_ref(),
            attributes: &user.attributes,
            remarks: user.remarks.as_ref(),
            wallet_address: user.wallet_address.as_ref(),
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}

/// Users a page of an export.
const EXPORT_PAGE: u32 = 500;

/// Write every user of `tenant` (deleted ones too with `include_deleted`),
/// one line each, in creation order, a page at a time. The number written.
pub fn export(
    state: &AppState,
    tenant: TenantId,
    include_deleted: bool,
    mut output: impl Write,
) -> Result<u64, TransferError> {
    let filter = if include_deleted {
        UserFilter::default()
    } else {
        UserFilter::not_deleted()
    };
    let mut after: Option<Cursor> = None;
    let mut written = 0;
    loop {
        let query = UserQuery {
            filter: filter.clone(),
            sort: Sort::default(),
            page: PageRequest::Cursor {
                after: after.take(),
                limit: EXPORT_PAGE,
            },
            with_total: false,
        };
        let page = state
            .store
            .list_users(tenant, &query)
            .map_err(|e| match e {
                ListUsersError::Storage(e) => DomainError::Internal(e),
                ListUsersError::InvalidCursor => DomainError::Internal(
                    userhub_domain::StorageError::new("export: the store refused its own cursor"),
                ),
            })?;
        for user in &page.users {
            serde_json::to_writer(&mut output, &ExportLine::of(user)).map_err(io::Error::from)?;
            output.write_all(b"\n")?;
            written += 1;
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    output.flush()?;
    Ok(written)
}
