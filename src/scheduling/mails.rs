//! The conference emails (invitation, update, cancellation, reminder) in the reseller's brand,
//! with the iCalendar invitation both as a `text/calendar` alternative (what calendar clients act
//! on) and as an `invite.ics` attachment (what people can open).

use askama::Template;
use lettre::{
    Message,
    message::{
        Attachment, Mailbox, MultiPart, SinglePart,
        header::{ContentTransferEncoding, ContentType},
    },
};

use super::{Brand, ics::Method};
use crate::error::{AppError, AppResult};

#[derive(Template)]
#[template(path = "email/conference.txt")]
struct ConferenceText<'a> {
    m: &'a ConferenceMail<'a>,
}

#[derive(Template)]
#[template(path = "email/conference.html")]
struct ConferenceHtml<'a> {
    m: &'a ConferenceMail<'a>,
}

/// What one conference email says.
pub struct ConferenceMail<'a> {
    /// The company's effective brand: product name, colours, logo, Message-ID domain.
    pub brand: &'a Brand,
    pub company_name: &'a str,
    /// First line of the body, e.g. "You are invited".
    pub headline: &'a str,
    /// The mail's Subject header.
    pub mail_subject: String,
    /// The conference's subject.
    pub subject: &'a str,
    pub agenda: &'a str,
    /// Start time in the conference's zone, for people.
    pub when: &'a str,
    /// `None` in cancellations.
    pub join_url: Option<&'a str>,
    pub moderator: bool,
    pub security_pin: Option<&'a str>,
    /// The iCalendar text and its method; reminders carry none.
    pub calendar: Option<(Method, String)>,
}

/// Builds a conference email to one recipient.
pub fn build(from: Mailbox, to: Mailbox, m: &ConferenceMail<'_>) -> AppResult<Message> {
    let text = ConferenceText { m }.render().map_err(AppError::internal)?;
    let html = ConferenceHtml { m }.render().map_err(AppError::internal)?;
    let mut alternative = MultiPart::alternative()
        .singlepart(SinglePart::plain(text))
        .singlepart(SinglePart::html(html));
    let builder = Message::builder()
        .from(from)
        .to(to)
        .subject(m.mail_subject.clone())
        // Kept with the queued message, so a retried delivery carries the same id.
        .message_id(Some(m.brand.message_id()));
    let message = match &m.calendar {
        None => builder.multipart(alternative),
        Some((method, ics)) => {
            let inline = ContentType::parse(&format!(
                "text/calendar; charset=utf-8; method={}",
                method.as_str()
            ))
            .map_err(AppError::internal)?;
            alternative = alternative.singlepart(
                SinglePart::builder()
                    .header(inline)
                    .header(ContentTransferEncoding::Base64)
                    .body(ics.clone()),
            );
            let file = ContentType::parse("application/ics; name=\"invite.ics\"")
                .map_err(AppError::internal)?;
            builder.multipart(
                MultiPart::mixed()
                    .multipart(alternative)
                    .singlepart(Attachment::new("invite.ics".into()).body(ics.clone(), file)),
            )
        }
    };
    message.map_err(AppError::internal)
}
