//! Account emails, rendered from askama templates in the company's brand.

use askama::Template;
use lettre::{
    Message,
    message::{Mailbox, MultiPart},
};

use super::brand::Brand;
use crate::error::{AppError, AppResult};

#[derive(Template)]
#[template(path = "email/welcome.txt")]
struct WelcomeText<'a> {
    w: &'a Welcome<'a>,
}

#[derive(Template)]
#[template(path = "email/welcome.html")]
struct WelcomeHtml<'a> {
    w: &'a Welcome<'a>,
}

/// What a welcome email says.
pub struct Welcome<'a> {
    pub brand: &'a Brand,
    pub host_name: &'a str,
    pub company_name: &'a str,
    pub meeting_url: &'a str,
    pub password_link: &'a str,
    pub link_valid_days: i64,
}

/// Builds the welcome email of a new host, with its password creation link.
pub fn welcome(to: Mailbox, w: &Welcome<'_>) -> AppResult<Message> {
    let text = WelcomeText { w }.render().map_err(AppError::internal)?;
    let html = WelcomeHtml { w }.render().map_err(AppError::internal)?;
    Message::builder()
        .from(w.brand.sender.clone())
        .to(to)
        .subject(format!("Welcome to {}", w.brand.name))
        .message_id(Some(w.brand.message_id()))
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(AppError::internal)
}
