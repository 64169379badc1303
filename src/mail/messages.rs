//! The emails Confab sends, rendered from askama templates in the reseller's brand.

use askama::Template;
use lettre::{
    Message,
    message::{Mailbox, MultiPart},
};

use crate::error::{AppError, AppResult};

#[derive(Template)]
#[template(path = "email/welcome.txt")]
struct WelcomeText<'a> {
    brand: &'a str,
    host_name: &'a str,
    company_name: &'a str,
    meeting_url: &'a str,
    password_link: &'a str,
    link_valid_days: i64,
}

#[derive(Template)]
#[template(path = "email/welcome.html")]
struct WelcomeHtml<'a> {
    brand: &'a str,
    host_name: &'a str,
    company_name: &'a str,
    meeting_url: &'a str,
    password_link: &'a str,
    link_valid_days: i64,
}

/// What a welcome email says.
pub struct Welcome<'a> {
    pub brand: &'a str,
    pub host_name: &'a str,
    pub company_name: &'a str,
    pub meeting_url: &'a str,
    pub password_link: &'a str,
    pub link_valid_days: i64,
}

/// Builds the welcome email of a new host, with its password creation link.
pub fn welcome(from: Mailbox, to: Mailbox, w: &Welcome<'_>) -> AppResult<Message> {
    let text = WelcomeText {
        brand: w.brand,
        host_name: w.host_name,
        company_name: w.company_name,
        meeting_url: w.meeting_url,
        password_link: w.password_link,
        link_valid_days: w.link_valid_days,
    }
    .render()
    .map_err(AppError::internal)?;
    let html = WelcomeHtml {
        brand: w.brand,
        host_name: w.host_name,
        company_name: w.company_name,
        meeting_url: w.meeting_url,
        password_link: w.password_link,
        link_valid_days: w.link_valid_days,
    }
    .render()
    .map_err(AppError::internal)?;
    Message::builder()
        .from(from)
        .to(to)
        .subject(format!("Welcome to {}", w.brand))
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(AppError::internal)
}
