//! Import and export of users as newline-delimited JSON, one user a line in
//! userhub's own shape (docs/import.md): the core under `userhub import` /
//! `userhub export` and the admin API's import and export routes, over any
//! reader and writer, so each front end only opens its input and shows its
//! progress.
//!
//! Memory stays flat in the number of lines: lines are read one at a time
//! (each at most [`MAX_LINE_BYTES`]), judged and written a batch at a time,
//! and every line's result is handed to the caller as soon as its batch is
//! done; export reads the users a page at a time, by the primary key.
//!
//! Security intent: the lines carry password hashes both ways, so only an
//! ADMIN (or the operator, on the command line) imports or exports; a
//! refused line's report names the field, a code and a message, never the
//! value it had.

use std::io::{self, BufRead, Write};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use userhub_domain::authz::ActorRef;
use userhub_domain::error::ValueError;
use userhub_domain::import::{
    ImportMode, ImportOutcome, ImportRepository, ImportUser, OnConflict, import_batch,
};
use userhub_domain::password::PasswordHash;
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

/// The most bytes of lines a batch holds before it is written, whatever
/// its number of lines: with lines of up to [`MAX_LINE_BYTES`], a batch of
/// 1,000 could otherwise hold a gigabyte.
pub const MAX_BATCH_BYTES: usize = 16 * 1024 * 1024;

impl ImportSummary {
    /// Count one line's result.
    pub fn count(&mut self, result: &LineResult) {
        self.lines += 1;
        match result.outcome {
            "imported" => self.imported += 1,
            "updated" => self.updated += 1,
            "skipped" => self.skipped += 1,
            _ => self.refused += 1,
        }
    }
}

/// Lines gathered into batches: full at `batch` lines or
/// [`MAX_BATCH_BYTES`], whichever comes first.
#[derive(Debug)]
pub struct Batcher {
    lines: Vec<Line>,
    bytes: usize,
    size: usize,
}

impl Batcher {
    /// Batches of `size` lines (at least 1).
    pub fn new(size: usize) -> Self {
        Self {
            lines: Vec::new(),
            bytes: 0,
            size: size.max(1),
        }
    }

    /// Add a line; the batch, when this line filled it.
    pub fn push(&mut self, line: Line) -> Option<Vec<Line>> {
        self.bytes += line.1.as_ref().map_or(0, Vec::len);
        self.lines.push(line);
        (self.lines.len() >= self.size || self.bytes >= MAX_BATCH_BYTES).then(|| self.take())
    }

    /// The lines not yet handed out (the last batch), if any.
    pub fn rest(&mut self) -> Option<Vec<Line>> {
        (!self.lines.is_empty()).then(|| self.take())
    }

    fn take(&mut self) -> Vec<Line> {
        self.bytes = 0;
        std::mem::take(&mut self.lines)
    }
}

/// Import every line of `input` as `options` says, handing each line's
/// result to `on_line` as soon as its batch is written.
///
/// Each batch is parsed on a second thread while the one before it is
/// written, so reading JSON and checking fields overlaps the database's
/// work instead of adding to it.
pub fn import(
    state: &AppState,
    options: ImportOptions,
    input: impl BufRead,
    mut on_line: impl FnMut(&LineResult),
) -> Result<ImportSummary, TransferError> {
    let started = Instant::now();
    let mut summary = ImportSummary::default();
    let mut lines = Lines::new(input);
    let mut batcher = Batcher::new(options.batch);
    let mut statistics = StatisticsSchedule::default();
    let mut write = |parsing: std::thread::ScopedJoinHandle<'_, Vec<ParsedLine>>| {
        let parsed = parsing
            .join()
            .map_err(|_| io::Error::other("the thread parsing a batch failed"))?;
        for result in write_parsed(state, &options, parsed)? {
            summary.count(&result);
            on_line(&result);
        }
        statistics.after_batch(state, &summary);
        Ok::<_, TransferError>(())
    };
    std::thread::scope(|scope| {
        let mut parsing = None;
        loop {
            let (full, done) = match lines.next_line()? {
                Some(line) => (batcher.push(line), false),
                None => (batcher.rest(), true),
            };
            if let Some(batch) = full {
                let next = scope.spawn(move || parse_lines(batch));
                if let Some(previous) = parsing.replace(next) {
                    write(previous)?;
                }
            }
            if done {
                break;
            }
        }
        match parsing {
            Some(last) => write(last),
            None => Ok(()),
        }
    })?;
    refresh_statistics(state, &summary);
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// When an import refreshes the planner's statistics while it runs: each
/// time the users it wrote have doubled, from the first thousand. The
/// table's triggers (the maintained counts, the feed) run queries per
/// batch; planned for the empty table a fresh database starts with, they
/// fall back to scans, and a million-line import into a new PostgreSQL
/// database took 616 s instead of about 90. Ten or so `ANALYZE`s of a
/// growing table cost far less.
#[derive(Debug)]
pub struct StatisticsSchedule {
    next: u64,
}

impl Default for StatisticsSchedule {
    fn default() -> Self {
        Self { next: 1_000 }
    }
}

impl StatisticsSchedule {
    /// Call after each batch with the import's counts so far.
    pub fn after_batch(&mut self, state: &AppState, summary: &ImportSummary) {
        let written = summary.imported + summary.updated;
        if written >= self.next {
            refresh_statistics(state, summary);
            self.next = written.saturating_mul(2);
        }
    }
}

/// After an import that wrote users, refresh the database's planner
/// statistics so the lists that follow are planned for the table's new
/// size. Every line is written by then: a failure here is logged, not the
/// import's.
pub fn refresh_statistics(state: &AppState, summary: &ImportSummary) {
    if summary.imported + summary.updated == 0 {
        return;
    }
    if let Err(e) = state.store.refresh_statistics() {
        log::warn!("import: the planner's statistics were not refreshed: {e}");
    }
}

/// A line read into the domain's import command, or why it cannot be.
pub type ParsedLine = (u64, Result<ImportUser, ValidationErrors>);

/// Read each line of a batch (JSON, then every field).
pub fn parse_lines(lines: Vec<Line>) -> Vec<ParsedLine> {
    lines
        .into_iter()
        .map(|(number, text)| (number, read_line(text)))
        .collect()
}

/// Import one batch of lines (read, judged, written in one transaction):
/// one result per line, in order. `Err` when the batch as a whole could
/// not be done; nothing of it is kept then.
pub fn import_lines(
    state: &AppState,
    options: &ImportOptions,
    lines: Vec<Line>,
) -> Result<Vec<LineResult>, TransferError> {
    write_parsed(state, options, parse_lines(lines))
}

/// Judge and write one batch of parsed lines: one result per line.
pub fn write_parsed(
    state: &AppState,
    options: &ImportOptions,
    parsed: Vec<ParsedLine>,
) -> Result<Vec<LineResult>, TransferError> {
    let (numbers, parsed): (Vec<u64>, Vec<_>) = parsed.into_iter().unzip();
    let mode = ImportMode {
        on_conflict: options.on_conflict,
        dry_run: options.dry_run,
    };
    let outcomes =
        state.with_ctx(|ctx| import_batch(ctx, options.tenant, options.by, mode, parsed))?;
    Ok(numbers
        .into_iter()
        .zip(outcomes)
        .map(|(line, outcome)| line_result(line, outcome))
        .collect())
}

fn line_result(line: u64, outcome: ImportOutcome) -> LineResult {
    let (outcome, id, errors) = match outcome {
        ImportOutcome::Imported(id) => ("imported", Some(id), Vec::new()),
        ImportOutcome::Updated(id) => ("updated", Some(id), Vec::new()),
        ImportOutcome::Skipped => ("skipped", None, Vec::new()),
        ImportOutcome::Refused(errors) => {
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

/// A line: its number and its text, or why it cannot be read.
pub type Line = (u64, Result<Vec<u8>, LineError>);

/// Cuts bytes into lines as they arrive (a chunk at a time, from a file or
/// a request body), each bounded by [`MAX_LINE_BYTES`]: a longer line is
/// answered `too_long` and its bytes are dropped as they come, never kept.
/// Blank lines are numbered but not handed out.
#[derive(Debug, Default)]
pub struct LineSplitter {
    number: u64,
    current: Vec<u8>,
    too_long: bool,
}

impl LineSplitter {
    /// A splitter at the start of the input.
    pub fn new() -> Self {
        Self::default()
    }

    /// Take in `chunk`, handing each line it ends to `out`.
    pub fn push(&mut self, mut chunk: &[u8], mut out: impl FnMut(Line)) {
        while !chunk.is_empty() {
            let (part, ended, rest) = match chunk.iter().position(|&b| b == b'\n') {
                Some(at) => (&chunk[..at], true, &chunk[at + 1..]),
                None => (chunk, false, &[][..]),
            };
            if !self.too_long {
                if self.current.len() + part.len() > MAX_LINE_BYTES {
                    self.too_long = true;
                    self.current = Vec::new();
                } else {
                    self.current.extend_from_slice(part);
                }
            }
            if ended {
                self.end_line(&mut out);
            }
            chunk = rest;
        }
    }

    /// The input ended: hand out its last line, if it had no newline.
    pub fn finish(&mut self, mut out: impl FnMut(Line)) {
        if self.too_long || !self.current.is_empty() {
            self.end_line(&mut out);
        }
    }

    fn end_line(&mut self, out: &mut impl FnMut(Line)) {
        self.number += 1;
        if std::mem::take(&mut self.too_long) {
            let error = LineError {
                field: "line".into(),
                code: "too_long",
                message: format!("is longer than {MAX_LINE_BYTES} bytes"),
            };
            out((self.number, Err(error)));
        } else if self.current.iter().all(u8::is_ascii_whitespace) {
            self.current.clear();
        } else {
            out((self.number, Ok(std::mem::take(&mut self.current))));
        }
    }
}

/// A reader's lines, one at a time.
struct Lines<R> {
    input: R,
    splitter: LineSplitter,
    ready: std::collections::VecDeque<Line>,
    ended: bool,
}

impl<R: BufRead> Lines<R> {
    fn new(input: R) -> Self {
        Self {
            input,
            splitter: LineSplitter::new(),
            ready: std::collections::VecDeque::new(),
            ended: false,
        }
    }

    /// The next non-blank line; `None` at the end.
    fn next_line(&mut self) -> io::Result<Option<Line>> {
        loop {
            if let Some(line) = self.ready.pop_front() {
                return Ok(Some(line));
            }
            if self.ended {
                return Ok(None);
            }
            let ready = &mut self.ready;
            let chunk = self.input.fill_buf()?;
            if chunk.is_empty() {
                self.ended = true;
                self.splitter.finish(|line| ready.push_back(line));
            } else {
                let n = chunk.len();
                self.splitter.push(chunk, |line| ready.push_back(line));
                self.input.consume(n);
            }
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
pub const EXPORT_PAGE: u32 = 1000;

/// Write `users` as export lines to `output`.
pub fn write_lines(users: &[User], mut output: impl Write) -> io::Result<()> {
    for user in users {
        serde_json::to_writer(&mut output, &ExportLine::of(user)).map_err(io::Error::from)?;
        output.write_all(b"\n")?;
    }
    Ok(())
}

/// Write every user of `tenant` (deleted ones too with `include_deleted`),
/// one line each, in id order, a page at a time by the primary key (see
/// [`ImportRepository::export_users`]). The number written.
pub fn export(
    state: &AppState,
    tenant: TenantId,
    include_deleted: bool,
    mut output: impl Write,
) -> Result<u64, TransferError> {
    let mut after: Option<UserId> = None;
    let mut written = 0;
    loop {
        let page = state
            .store
            .export_users(tenant, after, EXPORT_PAGE, include_deleted)
            .map_err(DomainError::Internal)?;
        let Some(last) = page.last() else {
            break;
        };
        after = Some(last.id);
        write_lines(&page, &mut output)?;
        written += page.len() as u64;
    }
    output.flush()?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<(u64, Result<String, &'static str>)> {
        let mut splitter = LineSplitter::new();
        let mut lines = Vec::new();
        let mut keep = |(number, text): Line| {
            lines.push((
                number,
                text.map(|t| String::from_utf8(t).unwrap_or_default())
                    .map_err(|e| e.code),
            ));
        };
        for chunk in chunks {
            splitter.push(chunk, &mut keep);
        }
        splitter.finish(&mut keep);
        lines
    }

    #[test]
    fn lines_are_the_same_wherever_the_chunks_are_cut() {
        let text = b"{\"a\":1}\n\n  \n{\"b\":2}\r\n{\"c\":3}";
        let whole = split(&[text]);
        assert_eq!(
            whole,
            vec![
                (1, Ok("{\"a\":1}".to_owned())),
                (4, Ok("{\"b\":2}\r".to_owned())),
                (5, Ok("{\"c\":3}".to_owned())),
            ]
        );
        for cut in 0..text.len() {
            let (head, tail) = text.split_at(cut);
            assert_eq!(split(&[head, tail]), whole, "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(split(&bytes), whole);
    }

    #[test]
    fn a_line_longer_than_the_bound_is_refused_and_the_next_one_read() {
        let long = vec![b'x'; MAX_LINE_BYTES + 1];
        let fits = vec![b'y'; MAX_LINE_BYTES];
        for chunk in [4096, MAX_LINE_BYTES + 7] {
            let mut text = long.clone();
            text.push(b'\n');
            text.extend_from_slice(&fits);
            text.extend_from_slice(b"\n{}\n");
            text.extend_from_slice(&long);
            let chunks: Vec<&[u8]> = text.chunks(chunk).collect();
            let lines = split(&chunks);
            let shape: Vec<(u64, Result<usize, &str>)> = lines
                .into_iter()
                .map(|(n, t)| (n, t.map(|t| t.len())))
                .collect();
            assert_eq!(
                shape,
                vec![
                    (1, Err("too_long")),
                    (2, Ok(MAX_LINE_BYTES)),
                    (3, Ok(2)),
                    (4, Err("too_long")),
                ]
            );
        }
    }

    #[test]
    fn a_batch_is_full_at_its_lines_or_its_bytes() {
        let mut batcher = Batcher::new(3);
        assert!(batcher.push((1, Ok(vec![b'a']))).is_none());
        assert!(batcher.push((2, Ok(vec![b'b']))).is_none());
        assert_eq!(batcher.push((3, Ok(vec![b'c']))).map(|b| b.len()), Some(3));
        assert!(batcher.rest().is_none());
        let big = vec![b'x'; MAX_BATCH_BYTES / 2];
        assert!(batcher.push((4, Ok(big.clone()))).is_none());
        assert_eq!(batcher.push((5, Ok(big))).map(|b| b.len()), Some(2));
        assert!(batcher.push((6, Ok(vec![b'z']))).is_none());
        assert_eq!(batcher.rest().map(|b| b.len()), Some(1));
    }
}
