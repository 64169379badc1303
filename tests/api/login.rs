//! `/login`, `/logout` and `/conf/calls/upcoming` with a real cookie jar.

use reqwest::{StatusCode, header};
use serde_json::json;

use crate::{
    helpers::TestApp,
    on_each_backend,
    sso::{page_with_cookie, signable},
};

/// The hidden CSRF field of a form page.
fn csrf_field(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("csrf field") + marker.len();
    html[start..]
        .split('"')
        .next()
        .expect("csrf value")
        .to_string()
}

fn location(response: &reqwest::Response) -> String {
    response.headers()[header::LOCATION]
        .to_str()
        .expect("ascii")
        .to_string()
}

on_each_backend!(login_with_password_and_logout);

async fn login_with_password_and_logout(app: TestApp) {
    let joe = signable(&app, &app.alpha, "joe").await;
    let ann = signable(&app, &app.alpha, "ann").await;
    let (browser, _) = app.browser(&[&joe.hostname]);
    let url = |path: &str| app.url(&joe.hostname, path);

    // Not signed in: the upcoming page sends the browser to the login form and back.
    let response = browser
        .get(url("/conf/calls/upcoming"))
        .send()
        .await
        .expect("get");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response),
        "/login?next=%2Fconf%2Fcalls%2Fupcoming"
    );

    let room = format!("/conf/call/{}", joe.access_code);
    let form = browser
        .get(url(&format!("/login?next={room}")))
        .send()
        .await
        .expect("login page");
    assert_eq!(form.status(), StatusCode::OK);
    let html = form.text().await.expect("html");
    assert!(
        !html.contains("Sign in with"),
        "no provider configured: {html}"
    );
    let csrf = csrf_field(&html);

    // A form post from elsewhere (no CSRF cookie) is refused before the password is looked at.
    let forged = app
        .client
        .post(format!("http://{}/login", app.addr))
        .header("host", &joe.hostname)
        .form(&[
            ("email", joe.email.as_str()),
            ("password", "HostPass123"),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .expect("forged post");
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(forged.headers().get(header::SET_COOKIE).is_none());

    // Wrong password: the form again, with a message.
    let wrong = browser
        .post(url("/login"))
        .form(&[
            ("email", joe.email.as_str()),
            ("password", "nope-nope"),
            ("csrf", &csrf),
            ("next", &room),
        ])
        .send()
        .await
        .expect("wrong password");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(
        wrong
            .text()
            .await
            .expect("html")
            .contains("Invalid email or password")
    );
    // A host of another company cannot sign in on this company's domain.
    let elsewhere = browser
        .post(url("/login"))
        .form(&[
            ("email", ann.email.as_str()),
            ("password", "HostPass123"),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .expect("other company");
    assert_eq!(elsewhere.status(), StatusCode::UNAUTHORIZED);

    // Success goes to `next`.
    let ok = browser
        .post(url("/login"))
        .form(&[
            ("email", joe.email.as_str()),
            ("password", "HostPass123"),
            ("csrf", &csrf),
            ("next", &room),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&ok), room);
    let upcoming = browser
        .get(url("/conf/calls/upcoming"))
        .send()
        .await
        .expect("upcoming");
    assert_eq!(upcoming.status(), StatusCode::OK);
    let html = upcoming.text().await.expect("html");
    assert!(
        html.contains(&joe.name) && html.contains(&joe.meeting_url),
        "{html}"
    );
    let logout_csrf = csrf_field(&html);

    // An unsafe `next` falls back to the upcoming page.
    let again = browser
        .post(url("/login"))
        .form(&[
            ("email", joe.email.as_str()),
            ("password", "HostPass123"),
            ("csrf", &csrf),
            ("next", "//evil.example/"),
        ])
        .send()
        .await
        .expect("login again");
    assert_eq!(location(&again), "/conf/calls/upcoming");

    // Logout needs the CSRF token too.
    let forged = browser
        .post(url("/logout"))
        .form(&[("csrf", "forged")])
        .send()
        .await
        .expect("forged logout");
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let still = browser
        .get(url("/conf/calls/upcoming"))
        .send()
        .await
        .expect("upcoming");
    assert_eq!(still.status(), StatusCode::OK);
    let logout_page = browser
        .get(url("/logout"))
        .send()
        .await
        .expect("logout page");
    assert_eq!(logout_page.status(), StatusCode::OK);
    let out = browser
        .post(url("/logout"))
        .form(&[("csrf", logout_csrf.as_str())])
        .send()
        .await
        .expect("logout");
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&out), "/login");
    let gone = browser
        .get(url("/conf/calls/upcoming"))
        .send()
        .await
        .expect("upcoming");
    assert_eq!(gone.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("browser_sessions").await, 0);
}

on_each_backend!(sessions_stay_on_their_company_domain);

async fn sessions_stay_on_their_company_domain(app: TestApp) {
    let joe = signable(&app, &app.alpha, "joe").await;
    let ann = signable(&app, &app.alpha, "ann").await;
    let id = joe.host_id.to_string();
    let response = crate::sso::auth_get(
        &app,
        &joe.hostname,
        &[("host_id", &id), ("login_token_public_key", &joe.login_key)],
    )
    .await;
    let cookie = crate::sso::pair(&crate::sso::session_cookie(&response));
    let mine = page_with_cookie(&app, &joe.hostname, "/conf/calls/upcoming", &cookie).await;
    assert_eq!(mine.status(), StatusCode::OK);
    // The same cookie value presented to another company's domain signs nobody in.
    let other = page_with_cookie(&app, &ann.hostname, "/conf/calls/upcoming", &cookie).await;
    assert_eq!(other.status(), StatusCode::SEE_OTHER);
    let other = page_with_cookie(&app, "bea.beta.test", "/conf/calls/upcoming", &cookie).await;
    assert_ne!(other.status(), StatusCode::OK);
}

on_each_backend!(password_changes_and_key_resets_end_browser_sessions);

async fn password_changes_and_key_resets_end_browser_sessions(app: TestApp) {
    let joe = signable(&app, &app.alpha, "joe").await;
    let r = &app.alpha;
    let sign_in = |key: String| {
        let app = &app;
        let hostname = joe.hostname.clone();
        let id = joe.host_id.to_string();
        async move {
            let response = crate::sso::auth_get(
                app,
                &hostname,
                &[("host_id", &id), ("login_token_public_key", &key)],
            )
            .await;
            crate::sso::pair(&crate::sso::session_cookie(&response))
        }
    };
    let signed_in = |cookie: String| {
        let app = &app;
        let hostname = joe.hostname.clone();
        async move {
            page_with_cookie(app, &hostname, "/conf/calls/upcoming", &cookie)
                .await
                .status()
                == StatusCode::OK
        }
    };
    let cookie = sign_in(joe.login_key.clone()).await;
    assert!(signed_in(cookie.clone()).await);
    app.ok(
        &r.api_host,
        &r.admin_token,
        "host/update",
        json!({"host_id": joe.host_id, "password": "BrandNewPass1"}),
    )
    .await;
    assert!(
        !signed_in(cookie).await,
        "a password change ends browser sessions"
    );

    let cookie = sign_in(joe.login_key.clone()).await;
    assert!(signed_in(cookie.clone()).await);
    app.ok(
        &r.api_host,
        &r.admin_token,
        "host/reset_login_token",
        json!({"host_id": joe.host_id}),
    )
    .await;
    assert!(
        !signed_in(cookie).await,
        "a login key reset ends browser sessions"
    );
}
