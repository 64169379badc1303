//! `conference/*`: scheduled meetings with calendar invitations, updates, cancellations and
//! reminders by email. Scope as for hosts: a host schedules for itself, a company admin for its
//! company's hosts, a reseller admin for all its companies.

use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::{
    company::company_in_scope,
    extract::Authed,
    fields::{self, Deleted, Paging, timestamp},
};
use crate::{
    app::{App, AppState},
    auth::{Caller, Role},
    error::{AppError, AppResult},
    scheduling::{
        self, Brand,
        conferences::{self, Draft, Saved},
        rules::{self, AUTO_RECORD, EmailInvitee, MUTE_MODES},
        time,
    },
    store::{
        self,
        conferences::{Conference, Invitee, ListFilter, When},
        hosts::Host,
    },
    tenancy::{Tenant, names},
};

/// An invitee by email (`moderator` defaults to false).
#[derive(Deserialize, Serialize, ToSchema, Clone)]
pub struct ParticipantEmail {
    #[schema(example = "bob@royalteck.com")]
    pub email: String,
    #[serde(default)]
    pub moderator: bool,
}

/// Input of `conference/create`, field by field as the seed.
#[derive(Deserialize, ToSchema)]
pub struct CreateConferenceRequest {
    /// The organising host; defaults to the caller.
    pub host_id: Option<i64>,
    #[schema(example = "Test Conference")]
    pub subject: String,
    #[schema(example = "An agenda")]
    pub agenda: Option<String>,
    /// Local time in `time_zone`, `YYYY-MM-DD HH:MM:SS`.
    #[schema(example = "2020-09-19 13:00:00")]
    pub start: String,
    /// IANA zone name.
    #[schema(example = "Europe/London")]
    pub time_zone: String,
    /// Minutes, 1–1440.
    #[schema(example = 60)]
    pub duration: i64,
    /// `none` (default) or `cloud`.
    pub auto_record: Option<String>,
    #[serde(default)]
    pub auto_transcribe: bool,
    /// `true` gives the conference its own URL `/conf/call/<code>`.
    #[serde(default)]
    pub one_time_access_code: bool,
    /// 4–12 digits guests must give, number or string.
    #[serde(default, deserialize_with = "fields::code")]
    #[schema(value_type = Option<String>, example = "123456")]
    pub security_pin: Option<String>,
    /// `conversation` (default), `presentation` or `lecture`.
    pub mute_mode: Option<String>,
    /// Host ids of the same company.
    #[serde(default)]
    pub participants: Vec<i64>,
    #[serde(default)]
    pub participant_emails: Vec<ParticipantEmail>,
}

/// Input of `conference/update`: `conference_id` and only the fields that change.
#[derive(Deserialize, ToSchema)]
pub struct UpdateConferenceRequest {
    pub conference_id: i64,
    pub subject: Option<String>,
    pub agenda: Option<String>,
    pub start: Option<String>,
    pub time_zone: Option<String>,
    pub duration: Option<i64>,
    pub auto_record: Option<String>,
    pub auto_transcribe: Option<bool>,
    pub one_time_access_code: Option<bool>,
    /// `""` removes the PIN.
    #[serde(default, deserialize_with = "fields::code")]
    #[schema(value_type = Option<String>)]
    pub security_pin: Option<String>,
    pub mute_mode: Option<String>,
    /// Replaces the participant hosts.
    pub participants: Option<Vec<i64>>,
    /// Replaces the email invitees.
    pub participant_emails: Option<Vec<ParticipantEmail>>,
}

/// Selects one conference.
#[derive(Deserialize, ToSchema)]
pub struct ConferenceIdRequest {
    pub conference_id: i64,
}

/// Input of `conference/list`.
#[derive(Deserialize, ToSchema)]
pub struct ListConferencesRequest {
    /// Only this host's conferences.
    pub host_id: Option<i64>,
    /// Only this company's conferences.
    pub company_id: Option<i64>,
    /// `upcoming` (not ended, soonest first), `past` (ended, latest first) or `all` (default).
    pub filter: Option<String>,
    pub limit: Option<i64>,
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
    #[schema(value_type = Object, example = 987654321)]
    pub one_time_access_code: Value,
    pub security_pin: Option<String>,
    pub mute_mode: String,
    /// The host first, then the participant hosts.
    pub participants: Vec<i64>,
    pub participant_emails: Vec<ParticipantEmail>,
    /// The link guests join with.
    pub join_url: String,
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

fn view(app: &App, c: &Conference, invitees: &[Invitee]) -> ConferenceView {
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
        moderator_join_url: None,
        moderator_join_urls: None,
        sequence: c.sequence,
        created_at: timestamp(c.created_at),
        updated_at: timestamp(c.updated_at),
    }
}

fn saved_view(app: &App, saved: Saved) -> ConferenceView {
    let mut v = view(app, &saved.conference, &saved.invitees);
    v.moderator_join_url = Some(saved.host_moderator_url);
    v.moderator_join_urls = Some(
        saved
            .moderator_urls
            .into_iter()
            .map(|(email, join_url)| ModeratorLink { email, join_url })
            .collect(),
    );
    v
}

fn brand(tenant: &Tenant) -> Brand {
    Brand {
        name: tenant.reseller_name.clone(),
        domain: tenant.reseller_domain.clone(),
    }
}

/// Loads a host the caller may schedule for; anything else is 404.
async fn host_in_scope(app: &App, caller: &Caller, host_id: i64) -> AppResult<Host> {
    fields::id("host_id", host_id)?;
    let host = store::hosts::get(&app.db, caller.reseller_id, host_id).await?;
    host.filter(|h| caller.sees_host(h))
        .ok_or_else(|| AppError::not_found("Host"))
}

/// Loads a conference whose host the caller sees; anything else is 404.
async fn conference_in_scope(app: &App, caller: &Caller, id: i64) -> AppResult<Conference> {
    fields::id("conference_id", id)?;
    let found = store::conferences::get(&app.db, caller.reseller_id, id).await?;
    found
        .filter(|c| match caller.role {
            Role::ResellerAdmin => true,
            Role::CompanyAdmin => c.company_id == caller.company_id,
            Role::Host => c.host_id == caller.host_id,
        })
        .ok_or_else(|| AppError::not_found("Conference"))
}

fn subject(value: &str) -> AppResult<String> {
    names::display_name("subject", value)
}

fn email_invitees(list: &[ParticipantEmail]) -> Vec<EmailInvitee> {
    list.iter()
        .map(|p| EmailInvitee {
            email: p.email.clone(),
            moderator: p.moderator,
        })
        .collect()
}

/// Schedules a conference and emails the invitations.
#[utoipa::path(post, path = "/enterprise_api/conference/create", tag = "conference",
    request_body = CreateConferenceRequest,
    responses((status = 200, body = ConferenceResponse), (status = 400, body = crate::error::ErrorBody),
        (status = 404, description = "Host not in scope", body = crate::error::ErrorBody)))]
pub async fn create(
    State(app): State<AppState>,
    request: Authed<CreateConferenceRequest>,
) -> AppResult<Json<ConferenceResponse>> {
    let Authed {
        caller,
        tenant,
        body,
    } = request;
    let host = host_in_scope(&app, &caller, body.host_id.unwrap_or(caller.host_id)).await?;
    let draft = Draft {
        subject: subject(&body.subject)?,
        agenda: rules::agenda(body.agenda.as_deref())?,
        slot: time::slot(&body.start, &body.time_zone, body.duration)?,
        auto_record: rules::one_of(
            "auto_record",
            body.auto_record.as_deref().unwrap_or("none"),
            &AUTO_RECORD,
        )?,
        auto_transcribe: body.auto_transcribe,
        one_time_access_code: body.one_time_access_code,
        security_pin: rules::security_pin(body.security_pin.as_deref())?,
        mute_mode: rules::one_of(
            "mute_mode",
            body.mute_mode.as_deref().unwrap_or("conversation"),
            &MUTE_MODES,
        )?,
        invitees: rules::invitees(
            &app.db,
            &host,
            &body.participants,
            &email_invitees(&body.participant_emails),
        )
        .await?,
    };
    let saved = conferences::create(&app, &brand(&tenant), &host, draft).await?;
    Ok(Json(ConferenceResponse {
        conference: saved_view(&app, saved),
        message: "Conference created".into(),
    }))
}

/// Shows one conference.
#[utoipa::path(post, path = "/enterprise_api/conference/get", tag = "conference",
    request_body = ConferenceIdRequest,
    responses((status = 200, body = ConferenceResponse), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(
    State(app): State<AppState>,
    request: Authed<ConferenceIdRequest>,
) -> AppResult<Json<ConferenceResponse>> {
    let Authed { caller, body, .. } = request;
    let c = conference_in_scope(&app, &caller, body.conference_id).await?;
    let invitees = store::conferences::invitees(&app.db, c.id).await?;
    Ok(Json(ConferenceResponse {
        conference: view(&app, &c, &invitees),
        message: "OK".into(),
    }))
}

/// Lists conferences in the caller's scope, by host or company, upcoming or past.
#[utoipa::path(post, path = "/enterprise_api/conference/list", tag = "conference",
    request_body = ListConferencesRequest,
    responses((status = 200, body = ConferenceListResponse), (status = 400, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn list(
    State(app): State<AppState>,
    request: Authed<ListConferencesRequest>,
) -> AppResult<Json<ConferenceListResponse>> {
    let Authed { caller, body, .. } = request;
    let page = Paging {
        limit: body.limit,
        offset: body.offset,
    }
    .page()?;
    let when = match body.filter.as_deref().map(str::trim) {
        None | Some("") | Some("all") => When::All,
        Some("upcoming") => When::Upcoming,
        Some("past") => When::Past,
        Some(_) => {
            return Err(AppError::invalid_field(
                "filter",
                "must be one of upcoming, past, all",
            ));
        }
    };
    let host_id = match (body.host_id, caller.role) {
        (Some(id), _) => Some(host_in_scope(&app, &caller, id).await?.id),
        (None, Role::Host) => Some(caller.host_id),
        (None, _) => None,
    };
    let company_id = match (body.company_id, caller.role) {
        (Some(id), _) => Some(company_in_scope(&app, &caller, id).await?.id),
        (None, Role::ResellerAdmin) => None,
        (None, _) => Some(caller.company_id),
    };
    let filter = ListFilter {
        host_id,
        company_id,
        when,
        now: store::now(),
    };
    let found = store::conferences::list(&app.db, caller.reseller_id, filter, page).await?;
    let mut conferences = Vec::with_capacity(found.items.len());
    for c in &found.items {
        let invitees = store::conferences::invitees(&app.db, c.id).await?;
        conferences.push(view(&app, c, &invitees));
    }
    Ok(Json(ConferenceListResponse {
        conferences,
        total: found.total,
        limit: page.limit,
        offset: page.offset,
        message: "OK".into(),
    }))
}

/// Changes a conference and sends the calendar update (new invitees: invitation; removed:
/// cancellation). Moderator links are renewed and returned.
#[utoipa::path(post, path = "/enterprise_api/conference/update", tag = "conference",
    request_body = UpdateConferenceRequest,
    responses((status = 200, body = ConferenceResponse), (status = 400, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn update(
    State(app): State<AppState>,
    request: Authed<UpdateConferenceRequest>,
) -> AppResult<Json<ConferenceResponse>> {
    let Authed {
        caller,
        tenant,
        body,
    } = request;
    let before = conference_in_scope(&app, &caller, body.conference_id).await?;
    let host = store::hosts::get(&app.db, before.reseller_id, before.host_id)
        .await?
        .ok_or_else(|| AppError::not_found("Host"))?;
    let before_invitees = store::conferences::invitees(&app.db, before.id).await?;
    let start = body.start.as_deref().unwrap_or(&before.start_local);
    let zone = body.time_zone.as_deref().unwrap_or(&before.time_zone);
    let participants: Vec<i64> = match &body.participants {
        Some(ids) => ids.clone(),
        None => before_invitees.iter().filter_map(|i| i.host_id).collect(),
    };
    let emails = match &body.participant_emails {
        Some(list) => email_invitees(list),
        None => before_invitees
            .iter()
            .filter(|i| i.host_id.is_none())
            .map(|i| EmailInvitee {
                email: i.email.clone(),
                moderator: i.moderator,
            })
            .collect(),
    };
    let draft = Draft {
        subject: match &body.subject {
            Some(s) => subject(s)?,
            None => before.subject.clone(),
        },
        agenda: match &body.agenda {
            Some(a) => rules::agenda(Some(a))?,
            None => before.agenda.clone(),
        },
        slot: time::slot(start, zone, body.duration.unwrap_or(before.duration))?,
        auto_record: match &body.auto_record {
            Some(v) => rules::one_of("auto_record", v, &AUTO_RECORD)?,
            None => before.auto_record.clone(),
        },
        auto_transcribe: body.auto_transcribe.unwrap_or(before.auto_transcribe),
        one_time_access_code: body
            .one_time_access_code
            .unwrap_or(before.access_code.is_some()),
        security_pin: match &body.security_pin {
            Some(pin) => rules::security_pin(Some(pin))?,
            None => before.security_pin.clone(),
        },
        mute_mode: match &body.mute_mode {
            Some(v) => rules::one_of("mute_mode", v, &MUTE_MODES)?,
            None => before.mute_mode.clone(),
        },
        invitees: rules::invitees(&app.db, &host, &participants, &emails).await?,
    };
    let saved =
        conferences::update(&app, &brand(&tenant), &before, &before_invitees, draft).await?;
    Ok(Json(ConferenceResponse {
        conference: saved_view(&app, saved),
        message: "Conference updated".into(),
    }))
}

/// Deletes a conference; invitees of a conference not yet over receive a cancellation.
#[utoipa::path(post, path = "/enterprise_api/conference/delete", tag = "conference",
    request_body = ConferenceIdRequest,
    responses((status = 200, body = Deleted), (status = 404, body = crate::error::ErrorBody)))]
pub async fn delete(
    State(app): State<AppState>,
    request: Authed<ConferenceIdRequest>,
) -> AppResult<Json<Deleted>> {
    let Authed {
        caller,
        tenant,
        body,
    } = request;
    let c = conference_in_scope(&app, &caller, body.conference_id).await?;
    let invitees = store::conferences::invitees(&app.db, c.id).await?;
    conferences::delete(&app, &brand(&tenant), &c, &invitees).await?;
    Ok(Json(Deleted {
        id: c.id,
        deleted: true,
        message: "Conference deleted".into(),
    }))
}
