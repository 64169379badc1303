//! Screenshots of the meeting pre-join page in the light and the dark theme, kept as PNG artifacts
//! (`<target dir>/artifacts/`) for people to look at.

use std::path::PathBuf;

use serde_json::json;

use crate::{
    browser::{browser, start_driver},
    helpers::{Backend, TestApp},
    meeting_page::wait_for,
};

/// `<target dir>/artifacts`, next to cargo's own test scratch folder.
fn artifacts_dir() -> PathBuf {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(&tmp).join("artifacts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prejoin_page_in_light_and_dark() {
    let Some(driver) = start_driver().await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (a, b) = (app.alpha.clone(), app.beta.clone());
    let port = app.addr.port();
    let dir = artifacts_dir();
    std::fs::create_dir_all(&dir).expect("artifacts dir");
    for (reseller, theme, subdomain, product, primary) in [
        (&a, "light", "joe", "Alpha Cloud", "#e11d48"),
        (&b, "dark", "ann", "Beta Rooms", "#22c55e"),
    ] {
        app.ok(
            &reseller.api_host,
            &reseller.admin_token,
            "theme/update",
            json!({"product_name": product, "theme": theme, "primary_color": primary}),
        )
        .await;
        let company = app.company(reseller, subdomain).await;
        app.ok(
            &reseller.api_host,
            &reseller.admin_token,
            "host/create",
            json!({"company_id": company, "name": "Pat Host", "email": format!("pat@{subdomain}.tld"),
                   "access_code": "7654321", "no_welcome_email": true}),
        )
        .await;
        let domain = reseller.api_host.trim_start_matches("reseller-admin.");
        let origin = format!("http://{subdomain}.{domain}:{port}");
        let client = browser(&driver, theme, &origin).await;
        client
            .set_window_size(1000, 720)
            .await
            .expect("window size");
        client
            .goto(&format!("{origin}/conf/call/7654321"))
            .await
            .expect("open meeting page");
        let title = client.title().await.expect("title");
        assert!(title.contains(product), "{title}");
        // Computed colours prove the theme's stylesheet applied, not just that it was linked.
        let background = client
            .execute(
                "return getComputedStyle(document.body).backgroundColor;",
                vec![],
            )
            .await
            .expect("style");
        // What a guest sees once the browser granted the devices: a live preview and filled pickers.
        let ready = wait_for(
            &client,
            "document.getElementById('preview').videoWidth > 0
               && document.getElementById('preview').currentTime > 0
               && document.getElementById('camera-select').options.length > 0
               && document.getElementById('mic-select').options.length > 0",
            15,
        )
        .await;
        assert_eq!(
            ready,
            json!(true),
            "{theme}: camera preview and device lists"
        );
        let png = client.screenshot().await.expect("screenshot");
        let _ = client.close().await;
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        let path = dir.join(format!("prejoin-{theme}.png"));
        std::fs::write(&path, &png).expect("write screenshot");
        eprintln!("screenshot: {}", path.display());
        let expected = if theme == "dark" {
            "rgb(15, 23, 42)"
        } else {
            "rgb(245, 247, 250)"
        };
        assert_eq!(background, json!(expected), "{theme} background");
    }
}
