//! `conference/*`: scheduled meetings with calendar invitations, updates, cancellations and
//! reminders by email. Scope as for hosts: a host schedules for itself, a company admin for its
//! company's hosts, a reseller admin for all its companies.

mod types;

pub use types::*;

use axum::{Json, extract::State};
use types::{saved_view, view};

use super::{
    company::company_in_scope,
    extract::Authed,
    fields::{self, Deleted, Paging},
};
use crate::{
    app::{App, AppState},
    auth::{Caller, Role},
    error::{AppError, AppResult},
    scheduling::{
        Brand,
        conferences::{self, Draft},
        rules::{self, AUTO_RECORD, EmailInvitee, MUTE_MODES},
        time,
    },
    store::{
        self,
        conferences::{Conference, ListFilter, When},
        hosts::Host,
    },
    tenancy::{Tenant, names},
};

/// The mail brand of a company: its effective theme, links on its primary domain.
async fn brand(app: &App, tenant: &Tenant, company_id: i64) -> AppResult<Brand> {
    let hostname = store::companies::get(&app.db, tenant.reseller_id, company_id)
        .await?
        .map(|c| c.hostname)
        .unwrap_or_else(|| tenant.hostname.clone());
    Brand::of_company(
        &app.db,
        &app.config,
        tenant.reseller_id,
        company_id,
        &hostname,
    )
    .await
}

/// Loads a host the caller may schedule for; anything else is 404.
async fn host_in_scope(app: &App, caller: &Caller, host_id: i64) -> AppResult<Host> {
    fields::id("host_id", host_id)?;
    let host = store::hosts::get(&app.db, caller.reseller_id, host_id).await?;
    host.filter(|h| caller.sees_host(h))
        .ok_or_else(|| AppError::not_found("Host"))
}

/// Loads a conference whose host the caller sees (the one scope rule of hosts, so a company
/// admin of the reseller's admin company does not reach the reseller admin's conferences);
/// anything else is 404.
async fn conference_in_scope(app: &App, caller: &Caller, id: i64) -> AppResult<(Conference, Host)> {
    fields::id("conference_id", id)?;
    let not_found = || AppError::not_found("Conference");
    let conference = store::conferences::get(&app.db, caller.reseller_id, id)
        .await?
        .ok_or_else(not_found)?;
    let host = store::hosts::get(&app.db, caller.reseller_id, conference.host_id)
        .await?
        .filter(|h| caller.sees_host(h))
        .ok_or_else(not_found)?;
    Ok((conference, host))
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
#[utoipa::path(post, path = "/enterprise_api/conference/create", operation_id = "conference_create", tag = "conference",
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
            |h| caller.scope().may_invite(&host, h),
            &host,
            &body.participants,
            &email_invitees(&body.participant_emails),
        )
        .await?,
    };
    let saved = conferences::create(
        &app,
        &brand(&app, &tenant, host.company_id).await?,
        &host,
        draft,
    )
    .await?;
    Ok(Json(ConferenceResponse {
        conference: saved_view(&app, saved, &caller),
        message: "Conference created".into(),
    }))
}

/// Shows one conference.
#[utoipa::path(post, path = "/enterprise_api/conference/get", operation_id = "conference_get", tag = "conference",
    request_body(content = ConferenceIdRequest, example = json!({"conference_id": 1})),
    responses((status = 200, body = ConferenceResponse), (status = 400, description = "A missing or invalid field", body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(
    State(app): State<AppState>,
    request: Authed<ConferenceIdRequest>,
) -> AppResult<Json<ConferenceResponse>> {
    let Authed { caller, body, .. } = request;
    let (c, _) = conference_in_scope(&app, &caller, body.conference_id).await?;
    let invitees = store::conferences::invitees(&app.db, c.id).await?;
    Ok(Json(ConferenceResponse {
        conference: view(&app, &c, &invitees),
        message: "OK".into(),
    }))
}

/// Lists conferences in the caller's scope, by host or company, upcoming or past.
#[utoipa::path(post, path = "/enterprise_api/conference/list", operation_id = "conference_list", tag = "conference",
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
        hide_reseller_admins: caller.scope().hides_reseller_admins(),
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
#[utoipa::path(post, path = "/enterprise_api/conference/update", operation_id = "conference_update", tag = "conference",
    request_body = UpdateConferenceRequest,
    responses((status = 200, body = ConferenceResponse), (status = 400, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
        (status = 409, description = "The conference was changed meanwhile", body = crate::error::ErrorBody)))]
pub async fn update(
    State(app): State<AppState>,
    request: Authed<UpdateConferenceRequest>,
) -> AppResult<Json<ConferenceResponse>> {
    let Authed {
        caller,
        tenant,
        body,
    } = request;
    let (before, host) = conference_in_scope(&app, &caller, body.conference_id).await?;
    let before_invitees = store::conferences::invitees(&app.db, before.id).await?;
    let already_invited: Vec<i64> = before_invitees.iter().filter_map(|i| i.host_id).collect();
    let start = body.start.as_deref().unwrap_or(&before.start_local);
    let zone = body.time_zone.as_deref().unwrap_or(&before.time_zone);
    let participants: Vec<i64> = match &body.participants {
        Some(ids) => ids.clone(),
        None => already_invited.clone(),
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
        invitees: rules::invitees(
            &app.db,
            // Hosts already invited may stay, whoever invited them.
            |h| caller.scope().may_invite(&host, h) || already_invited.contains(&h.id),
            &host,
            &participants,
            &emails,
        )
        .await?,
    };
    let saved = conferences::update(
        &app,
        &brand(&app, &tenant, before.company_id).await?,
        &before,
        &before_invitees,
        draft,
    )
    .await?;
    Ok(Json(ConferenceResponse {
        conference: saved_view(&app, saved, &caller),
        message: "Conference updated".into(),
    }))
}

/// Deletes a conference; invitees of a conference not yet over receive a cancellation.
#[utoipa::path(post, path = "/enterprise_api/conference/delete", operation_id = "conference_delete", tag = "conference",
    // Another example id than conference/get and conference/update, so that a client trying the
    // examples in order still finds conference 1 there.
    request_body(content = ConferenceIdRequest, example = json!({"conference_id": 2})),
    responses((status = 200, body = Deleted), (status = 400, description = "A missing or invalid field", body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn delete(
    State(app): State<AppState>,
    request: Authed<ConferenceIdRequest>,
) -> AppResult<Json<Deleted>> {
    let Authed {
        caller,
        tenant,
        body,
    } = request;
    let (c, _) = conference_in_scope(&app, &caller, body.conference_id).await?;
    let invitees = store::conferences::invitees(&app.db, c.id).await?;
    conferences::delete(
        &app,
        &brand(&app, &tenant, c.company_id).await?,
        &c,
        &invitees,
    )
    .await?;
    Ok(Json(Deleted {
        id: c.id,
        deleted: true,
        message: "Conference deleted".into(),
    }))
}
