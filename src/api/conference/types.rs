//! Request and response shapes of `conference/*`, and how a stored conference is shown.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::{
    api::fields::{self, timestamp},
    app::App,
    auth::{Caller, Role},
    scheduling::{self, conferences::Saved, time},
    store::conferences::{Conference, Invitee},
};

/// An invitee by email (`moderator` defaults to false).
#[derive(Deserialize, Serialize, ToSchema, Clone)]
pub struct ParticipantEmail {
    /// At most 64 characters before the `@`.
    #[schema(
        example = "bob@royalteck.com",
        min_length = 3,
        max_length = 254,
        pattern = r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"
    )]
    pub email: String,
    #[serde(default)]
    pub moderator: bool,
}

/// Input of `conference/create`, field by field as the seed.
#[derive(Deserialize, ToSchema)]
pub struct CreateConferenceRequest {
    /// The organising host; defaults to the caller.
    #[schema(minimum = 1, example = 1)]
    pub host_id: Option<i64>,
    /// 1–200 characters, no control characters.
    #[schema(
        example = "Test Conference",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub subject: String,
    /// Free text with line breaks and tabs, at most 4000 characters.
    #[schema(
        example = "An agenda",
        max_length = 4000,
        pattern = r"^[^\u0000-\u0008\u000b-\u001f\u007f-\u009f]*$"
    )]
    pub agenda: Option<String>,
    /// Local time in `time_zone`, `YYYY-MM-DD HH:MM:SS`; a time skipped by a daylight saving
    /// change is refused.
    #[schema(
        example = "2030-09-19 13:00:00",
        min_length = 19,
        max_length = 19,
        pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]) ([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$"
    )]
    pub start: String,
    /// IANA zone name.
    #[schema(example = "Europe/London", value_type = crate::api::schema::TimeZoneName)]
    pub time_zone: String,
    /// Minutes, 1–1440.
    #[schema(example = 60, minimum = 1, maximum = 1440)]
    pub duration: i64,
    /// `none` (default) or `cloud`.
    #[schema(value_type = Option<crate::api::schema::AutoRecord>)]
    pub auto_record: Option<String>,
    #[serde(default)]
    pub auto_transcribe: bool,
    /// `true` gives the conference its own URL `/conf/call/<code>`.
    #[serde(default)]
    pub one_time_access_code: bool,
    /// 6–12 digits guests must give, number or string; `""` or absent: no PIN.
    #[serde(default, deserialize_with = "fields::code")]
    #[schema(schema_with = crate::api::schema::security_pin, example = "123456")]
    pub security_pin: Option<String>,
    /// `conversation` (default), `presentation` or `lecture`.
    #[schema(value_type = Option<crate::api::schema::MuteMode>)]
    pub mute_mode: Option<String>,
    /// Host ids of the conference host's company (at most 500 invitees with
    /// `participant_emails`).
    #[serde(default)]
    #[schema(max_items = 500, example = json!([]))]
    pub participants: Vec<i64>,
    #[serde(default)]
    #[schema(max_items = 500)]
    pub participant_emails: Vec<ParticipantEmail>,
}

/// Input of `conference/update`: `conference_id` and only the fields that change.
#[derive(Deserialize, ToSchema)]
pub struct UpdateConferenceRequest {
    #[schema(minimum = 1, example = 1)]
    pub conference_id: i64,
    /// 1–200 characters, no control characters.
    #[schema(
        example = "Test Conference",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub subject: Option<String>,
    /// At most 4000 characters.
    #[schema(
        example = "An agenda",
        max_length = 4000,
        pattern = r"^[^\u0000-\u0008\u000b-\u001f\u007f-\u009f]*$"
    )]
    pub agenda: Option<String>,
    /// Local time in `time_zone`, `YYYY-MM-DD HH:MM:SS`.
    #[schema(
        example = "2030-09-19 13:00:00",
        min_length = 19,
        max_length = 19,
        pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]) ([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$"
    )]
    pub start: Option<String>,
    #[schema(example = "Europe/London", value_type = Option<crate::api::schema::TimeZoneName>)]
    pub time_zone: Option<String>,
    /// Minutes, 1–1440.
    #[schema(example = 60, minimum = 1, maximum = 1440)]
    pub duration: Option<i64>,
    #[schema(value_type = Option<crate::api::schema::AutoRecord>)]
    pub auto_record: Option<String>,
    pub auto_transcribe: Option<bool>,
    pub one_time_access_code: Option<bool>,
    /// 6–12 digits, number or string; `""` removes the PIN.
    #[serde(default, deserialize_with = "fields::code")]
    #[schema(schema_with = crate::api::schema::security_pin, example = "123456")]
    pub security_pin: Option<String>,
    #[schema(value_type = Option<crate::api::schema::MuteMode>)]
    pub mute_mode: Option<String>,
    /// Replaces the participant hosts.
    #[schema(max_items = 500, example = json!([]))]
    pub participants: Option<Vec<i64>>,
    /// Replaces the email invitees.
    #[schema(max_items = 500)]
    pub participant_emails: Option<Vec<ParticipantEmail>>,
}

/// Selects one conference.
#[derive(Deserialize, ToSchema)]
pub struct ConferenceIdRequest {
    // No example here: conference/get and conference/delete give their own (1 and 2).
    #[schema(minimum = 1)]
    pub conference_id: i64,
}

/// Input of `conference/list`.
#[derive(Deserialize, ToSchema)]
pub struct ListConferencesRequest {
    /// Only this host's conferences.
    #[schema(minimum = 1, example = 1)]
    pub host_id: Option<i64>,
    /// Only this company's conferences.
    #[schema(minimum = 1, example = 1)]
    pub company_id: Option<i64>,
    /// `upcoming` (not ended, soonest first), `past` (ended, latest first) or `all` (default).
    #[schema(value_type = Option<crate::api::schema::ConferenceFilter>)]
    pub filter: Option<String>,
    /// 1–200, default 50.
    #[schema(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// Default 0.
    #[schema(minimum = 0)]
    pub offset: Option<i64>,
}

/// A moderator's own join link.
#[derive(Serialize, ToSchema)]
pub struct ModeratorLink {
    pub email: String,
    pub join_url: String,
}

/// A conference as the API shows it: every field of the seed, plus links and bookkeeping.
#[derive(Serialize, ToSchema)]
pub struct ConferenceView {
    pub conference_id: i64,
    pub host_id: i64,
    pub company_id: i64,
    pub subject: String,
    pub agenda: String,
    pub start: String,
    pub end_time: String,
    /// Whether a meeting session of the conference is running.
    pub active: bool,
    pub time_zone: String,
    pub duration: i64,
    pub auto_record: String,
    pub auto_transcribe: bool,
    /// The generated code as a number, or `false` when the host's personal room is used.
    #[schema(schema_with = crate::api::schema::one_time_access_code, example = 987654321)]
    pub one_time_access_code: Value,
    pub security_pin: Option<String>,
    pub mute_mode: String,
    /// The host first, then the participant hosts.
    pub participants: Vec<i64>,
    pub participant_emails: Vec<ParticipantEmail>,
    /// The link guests join with.
    pub join_url: String,
    /// Where the meeting can be watched live (hidden, receive-only viewers).
    pub livestream_url: String,
    /// The host's moderator link (only in create and update answers: the token is not kept).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moderator_join_url: Option<String>,
    /// Each moderator invitee's link (only in create and update answers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moderator_join_urls: Option<Vec<ModeratorLink>>,
    /// iCalendar SEQUENCE: how many times the conference was changed.
    pub sequence: i64,
    pub created_at: String,
    pub updated_at: String,
}

/// A single conference answer.
#[derive(Serialize, ToSchema)]
pub struct ConferenceResponse {
    #[serde(flatten)]
    pub conference: ConferenceView,
    pub message: String,
}

/// A page of conferences.
#[derive(Serialize, ToSchema)]
pub struct ConferenceListResponse {
    pub conferences: Vec<ConferenceView>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
    pub message: String,
}

pub(super) fn view(app: &App, c: &Conference, invitees: &[Invitee]) -> ConferenceView {
    let mut participants = vec![c.host_id];
    participants.extend(invitees.iter().filter_map(|i| i.host_id));
    ConferenceView {
        conference_id: c.id,
        host_id: c.host_id,
        company_id: c.company_id,
        subject: c.subject.clone(),
        agenda: c.agenda.clone(),
        start: c.start_local.clone(),
        end_time: time::local(c.ends_at, &c.time_zone),
        active: c.active,
        time_zone: c.time_zone.clone(),
        duration: c.duration,
        auto_record: c.auto_record.clone(),
        auto_transcribe: c.auto_transcribe,
        one_time_access_code: match c.access_code.as_deref().map(str::parse::<u64>) {
            Some(Ok(n)) => Value::from(n),
            Some(Err(_)) => Value::from(c.access_code.clone()),
            None => Value::Bool(false),
        },
        security_pin: c.security_pin.clone(),
        mute_mode: c.mute_mode.clone(),
        participants,
        participant_emails: invitees
            .iter()
            .filter(|i| i.host_id.is_none())
            .map(|i| ParticipantEmail {
                email: i.email.clone(),
                moderator: i.moderator,
            })
            .collect(),
        join_url: scheduling::join_url(&app.config, c),
        livestream_url: scheduling::livestream_url(&app.config, c),
        moderator_join_url: None,
        moderator_join_urls: None,
        sequence: c.sequence,
        created_at: timestamp(c.created_at),
        updated_at: timestamp(c.updated_at),
    }
}

/// The view of a conference just saved, with the moderator links. A HOST scheduling for itself
/// gets only the links of the invitees it named by email: those of invited colleagues go to
/// them by mail, and showing them would show the colleagues' email addresses.
pub(super) fn saved_view(app: &App, saved: Saved, caller: &Caller) -> ConferenceView {
    let mut v = view(app, &saved.conference, &saved.invitees);
    let invited_host = |email: &str| {
        saved
            .invitees
            .iter()
            .any(|i| i.host_id.is_some() && i.email == email)
    };
    let shown = |email: &str| caller.role != Role::Host || !invited_host(email);
    v.moderator_join_url = Some(saved.host_moderator_url);
    v.moderator_join_urls = Some(
        saved
            .moderator_urls
            .into_iter()
            .filter(|(email, _)| shown(email))
            .map(|(email, join_url)| ModeratorLink { email, join_url })
            .collect(),
    );
    v
}
