//! Every API method of the router × every role × objects of the reseller admin, of the caller's
//! company, of another company and of another reseller. The expected answer comes from a model
//! of the rule in docs/architecture.md, written here independently of the server: a role that
//! may not call the method gets 403; an object out of the caller's scope gets exactly the 404 of
//! an object that does not exist; an object in scope succeeds. A method added to the router
//! without a row here fails the test.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    helpers::{ADMIN_PASSWORD, TestApp, TestReseller},
    on_each_backend,
};

const RA: &str = "RESELLER_ADMIN";
const CA: &str = "COMPANY_ADMIN";
const HOST: &str = "HOST";

/// The POST methods the router serves, read from its source so that none can be forgotten.
fn router_methods() -> BTreeSet<String> {
    let source = include_str!("../../src/api/mod.rs");
    source
        .split(".route(")
        .skip(1)
        .filter(|route| route.contains("post("))
        .filter_map(|route| {
            let start = route.find("\"/")? + 2;
            let end = start + route[start..].find('"')?;
            Some(route[start..end].to_string())
        })
        .collect()
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Reseller {
    Alpha,
    Beta,
}

/// A company of the world, as the model knows it.
#[derive(Clone, Debug)]
struct Co {
    label: &'static str,
    id: i64,
    reseller: Reseller,
}

/// A host of the world, as the model knows it.
#[derive(Clone, Debug)]
struct Hs {
    label: String,
    id: i64,
    company: &'static str,
    reseller: Reseller,
    role: &'static str,
}

/// A caller: one host of alpha with its session.
#[derive(Clone, Debug)]
struct Who {
    label: &'static str,
    token: String,
    host: Hs,
}

/// What a method acts on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// Nothing but the caller itself.
    Nothing,
    Company,
    Host,
    Conference,
    ApiToken,
    /// A pending custom domain of a company.
    Domain,
    /// A company's OpenID Connect settings.
    Oidc,
}

/// One object a case is run against.
#[derive(Clone, Debug)]
enum Obj {
    Nothing,
    Company(Co),
    Host(Hs),
    /// A conference and its host.
    Conference(i64, Hs),
    /// An API token and the label of its owner.
    ApiToken(i64, &'static str),
    /// A company and one of its domains.
    Domain(Co, String),
    Oidc(Co),
    /// An id that exists nowhere.
    Ghost,
}

const GHOST: i64 = 987_654;

impl Obj {
    fn id(&self) -> i64 {
        match self {
            Obj::Nothing | Obj::Ghost => GHOST,
            Obj::Company(c) | Obj::Domain(c, _) | Obj::Oidc(c) => c.id,
            Obj::Host(h) => h.id,
            Obj::Conference(id, _) | Obj::ApiToken(id, _) => *id,
        }
    }

    fn domain(&self) -> String {
        match self {
            Obj::Domain(_, d) => d.clone(),
            _ => "ghost.example.com".into(),
        }
    }

    fn describe(&self) -> String {
        match self {
            Obj::Nothing => "-".into(),
            Obj::Ghost => "ghost".into(),
            Obj::Company(c) | Obj::Oidc(c) => format!("company {}", c.label),
            Obj::Domain(c, d) => format!("domain {d} of {}", c.label),
            Obj::Host(h) => format!("host {}", h.label),
            Obj::Conference(_, h) => format!("conference of {}", h.label),
            Obj::ApiToken(_, owner) => format!("api token of {owner}"),
        }
    }
}

/// The model: whether `who` reaches `obj` (docs/architecture.md, "Scope").
fn sees(who: &Who, obj: &Obj) -> bool {
    let me = &who.host;
    let sees_company =
        |c: &Co| c.reseller == Reseller::Alpha && (me.role == RA || c.label == me.company);
    let sees_host = |h: &Hs| {
        h.reseller == Reseller::Alpha
            && match me.role {
                RA => true,
                CA => h.company == me.company && h.role != RA,
                _ => h.id == me.id,
            }
    };
    match obj {
        Obj::Nothing => true,
        Obj::Ghost => false,
        Obj::Company(c) | Obj::Domain(c, _) | Obj::Oidc(c) => sees_company(c),
        Obj::Host(h) | Obj::Conference(_, h) => sees_host(h),
        Obj::ApiToken(_, owner) => *owner == who.label,
    }
}

/// One row of the matrix: a method on one kind of object.
struct Row {
    method: &'static str,
    /// Roles that may call it; others get 403 whatever the object.
    roles: &'static [&'static str],
    kind: Kind,
    /// Each case gets an object of its own, made just before (the method spends or removes it).
    fresh: bool,
    /// The request body for an object and a number unique to the case.
    body: fn(&Obj, usize) -> Value,
}

const ALL: &[&str] = &[RA, CA, HOST];
const ADMINS: &[&str] = &[RA, CA];
const RESELLER: &[&str] = &[RA];

fn start() -> String {
    (chrono::Utc::now() + chrono::Duration::days(3))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn rows() -> Vec<Row> {
    let row = |method, roles, kind, fresh, body| Row {
        method,
        roles,
        kind,
        fresh,
        body,
    };
    vec![
        row("logout", ALL, Kind::Nothing, false, |_, _| json!({})),
        row(
            "company/create",
            RESELLER,
            Kind::Nothing,
            false,
            |_, n| json!({"subdomain": format!("made{n}"), "name": "Made"}),
        ),
        row(
            "company/get",
            ADMINS,
            Kind::Company,
            false,
            |o, _| json!({"company_id": o.id()}),
        ),
        row("company/list", RESELLER, Kind::Nothing, false, |_, _| {
            json!({})
        }),
        row(
            "company/update",
            ADMINS,
            Kind::Company,
            false,
            |o, n| json!({"company_id": o.id(), "name": format!("Renamed {n}")}),
        ),
        row(
            "company/delete",
            RESELLER,
            Kind::Company,
            true,
            |o, _| json!({"company_id": o.id()}),
        ),
        row(
            "company/sso_secret/reset",
            ADMINS,
            Kind::Company,
            false,
            |o, _| json!({"company_id": o.id()}),
        ),
        row(
            "company/openid/set",
            ADMINS,
            Kind::Company,
            false,
            |o, _| {
                json!({"company_id": o.id(), "issuer_url": "http://127.0.0.1:9/issuer",
                   "client_id": "confab", "client_secret": "s3cr3t"})
            },
        ),
        row(
            "company/openid/get",
            ADMINS,
            Kind::Company,
            false,
            |o, _| json!({"company_id": o.id()}),
        ),
        row(
            "company/openid/delete",
            ADMINS,
            Kind::Oidc,
            true,
            |o, _| json!({"company_id": o.id()}),
        ),
        row("host/create", ADMINS, Kind::Company, false, |o, n| {
            json!({"company_id": o.id(), "name": "Made", "email": format!("made{n}@made.tld"),
                   "no_welcome_email": true})
        }),
        row(
            "host/get",
            ALL,
            Kind::Host,
            false,
            |o, _| json!({"host_id": o.id()}),
        ),
        row("host/list", ADMINS, Kind::Nothing, false, |_, _| json!({})),
        row(
            "host/list",
            ADMINS,
            Kind::Company,
            false,
            |o, _| json!({"company_id": o.id()}),
        ),
        row(
            "host/update",
            ALL,
            Kind::Host,
            false,
            |o, n| json!({"host_id": o.id(), "name": format!("Renamed {n}")}),
        ),
        row(
            "host/delete",
            ADMINS,
            Kind::Host,
            true,
            |o, _| json!({"host_id": o.id()}),
        ),
        row(
            "host/reset_login_token",
            ALL,
            Kind::Host,
            false,
            |o, _| json!({"host_id": o.id()}),
        ),
        row(
            "api_token/create",
            ADMINS,
            Kind::Nothing,
            false,
            |_, n| json!({"name": format!("token {n}")}),
        ),
        row("api_token/list", ADMINS, Kind::Nothing, false, |_, _| {
            json!({})
        }),
        row(
            "api_token/revoke",
            ADMINS,
            Kind::ApiToken,
            true,
            |o, _| json!({"api_token_id": o.id()}),
        ),
        row(
            "conference/create",
            ALL,
            Kind::Host,
            false,
            |o, _| json!({"host_id": o.id(), "subject": "Made", "start": start(), "time_zone": "UTC", "duration": 30}),
        ),
        row(
            "conference/get",
            ALL,
            Kind::Conference,
            false,
            |o, _| json!({"conference_id": o.id()}),
        ),
        row("conference/list", ALL, Kind::Nothing, false, |_, _| {
            json!({})
        }),
        row(
            "conference/list",
            ALL,
            Kind::Host,
            false,
            |o, _| json!({"host_id": o.id()}),
        ),
        row(
            "conference/list",
            ALL,
            Kind::Company,
            false,
            |o, _| json!({"company_id": o.id()}),
        ),
        row(
            "conference/update",
            ALL,
            Kind::Conference,
            false,
            |o, n| json!({"conference_id": o.id(), "subject": format!("Renamed {n}")}),
        ),
        row(
            "conference/delete",
            ALL,
            Kind::Conference,
            true,
            |o, _| json!({"conference_id": o.id()}),
        ),
        row(
            "theme/get",
            ADMINS,
            Kind::Company,
            false,
            |o, _| json!({"company_id": o.id()}),
        ),
        row(
            "theme/update",
            ADMINS,
            Kind::Company,
            false,
            |o, n| json!({"company_id": o.id(), "product_name": format!("Brand {n}")}),
        ),
        row(
            "domain/add",
            ADMINS,
            Kind::Company,
            false,
            |o, n| json!({"company_id": o.id(), "domain": format!("added{n}.example.com")}),
        ),
        row(
            "domain/list",
            ADMINS,
            Kind::Company,
            false,
            |o, _| json!({"company_id": o.id()}),
        ),
        row(
            "domain/verify",
            ADMINS,
            Kind::Domain,
            true,
            |o, _| json!({"company_id": o.id(), "domain": o.domain()}),
        ),
        row(
            "domain/set_primary",
            ADMINS,
            Kind::Domain,
            true,
            |o, _| json!({"company_id": o.id(), "domain": o.domain()}),
        ),
        row(
            "domain/delete",
            ADMINS,
            Kind::Domain,
            true,
            |o, _| json!({"company_id": o.id(), "domain": o.domain()}),
        ),
    ]
}

/// Methods whose successful answer is not 200 even in scope, with the reason.
fn in_scope_status(method: &str) -> u16 {
    match method {
        // A domain must be verified before it can be primary.
        "domain/set_primary" => 409,
        _ => 200,
    }
}

/// The world every case runs in.
struct World {
    alpha: TestReseller,
    beta: TestReseller,
    companies: Vec<Co>,
    hosts: Vec<Hs>,
    conferences: Vec<(i64, Hs)>,
    callers: Vec<Who>,
    /// Sessions able to make API tokens, by owner label (beta's admin included).
    token_owners: Vec<(&'static str, String, Reseller)>,
}

impl World {
    fn company(&self, label: &str) -> Co {
        self.companies
            .iter()
            .find(|c| c.label == label)
            .cloned()
            .unwrap_or_else(|| panic!("no company {label}"))
    }

    fn admin_of(&self, reseller: Reseller) -> &TestReseller {
        match reseller {
            Reseller::Alpha => &self.alpha,
            Reseller::Beta => &self.beta,
        }
    }

    /// The objects a row runs against (already made, or templates of fresh ones).
    fn objects(&self, kind: Kind) -> Vec<Obj> {
        match kind {
            Kind::Nothing => vec![Obj::Nothing],
            Kind::Company => self.companies.iter().cloned().map(Obj::Company).collect(),
            Kind::Oidc => self.companies.iter().cloned().map(Obj::Oidc).collect(),
            Kind::Domain => self
                .companies
                .iter()
                .cloned()
                .map(|c| Obj::Domain(c, String::new()))
                .collect(),
            Kind::Host => self.hosts.iter().cloned().map(Obj::Host).collect(),
            Kind::Conference => self
                .conferences
                .iter()
                .map(|(id, h)| Obj::Conference(*id, h.clone()))
                .collect(),
            Kind::ApiToken => self
                .token_owners
                .iter()
                .map(|(owner, _, _)| Obj::ApiToken(0, owner))
                .collect(),
        }
    }
}

async fn conference_of(app: &TestApp, admin: &TestReseller, host_id: i64) -> i64 {
    app.ok(
        &admin.api_host,
        &admin.admin_token,
        "conference/create",
        json!({"host_id": host_id, "subject": "Standing", "start": start(), "time_zone": "UTC", "duration": 30}),
    )
    .await["conference_id"]
        .as_i64()
        .expect("conference id")
}

async fn build_world(app: &TestApp) -> World {
    let alpha = app.alpha.clone();
    let beta = app.beta.clone();
    let me = app
        .ok(&alpha.api_host, &alpha.admin_token, "host/list", json!({}))
        .await;
    let ra = &me["hosts"][0];
    let ra_host = Hs {
        label: "reseller admin".into(),
        id: ra["host_id"].as_i64().expect("id"),
        company: "admin",
        reseller: Reseller::Alpha,
        role: RA,
    };
    let mut companies = vec![Co {
        label: "admin",
        id: ra["company_id"].as_i64().expect("company"),
        reseller: Reseller::Alpha,
    }];
    for (label, reseller) in [
        ("a1", Reseller::Alpha),
        ("a2", Reseller::Alpha),
        ("b1", Reseller::Beta),
    ] {
        let admin = if reseller == Reseller::Alpha {
            &alpha
        } else {
            &beta
        };
        companies.push(Co {
            label,
            id: app.company(admin, label).await,
            reseller,
        });
    }
    // Every company may use OpenID Connect, so `company/openid/set` can succeed in scope.
    for c in &companies {
        let admin = if c.reseller == Reseller::Alpha {
            &alpha
        } else {
            &beta
        };
        app.ok(
            &admin.api_host,
            &admin.admin_token,
            "company/update",
            json!({"company_id": c.id, "openid_provider": true}),
        )
        .await;
    }
    let mut hosts = vec![ra_host.clone()];
    let mut sessions = Vec::new();
    for (label, company, role, reseller) in [
        ("ops", "admin", CA, Reseller::Alpha),
        ("staff", "admin", HOST, Reseller::Alpha),
        ("ca1", "a1", CA, Reseller::Alpha),
        ("h1", "a1", HOST, Reseller::Alpha),
        ("h1b", "a1", HOST, Reseller::Alpha),
        ("h2", "a2", HOST, Reseller::Alpha),
        ("hb", "b1", HOST, Reseller::Beta),
    ] {
        let admin = if reseller == Reseller::Alpha {
            &alpha
        } else {
            &beta
        };
        let co = companies
            .iter()
            .find(|c| c.label == company)
            .expect("company");
        let (id, token) = app
            .host(admin, co.id, &format!("{label}@{company}.tld"), role)
            .await;
        hosts.push(Hs {
            label: label.to_string(),
            id,
            company,
            reseller,
            role,
        });
        sessions.push((label, token));
    }
    let session = |label: &str| {
        sessions
            .iter()
            .find(|(l, _)| *l == label)
            .map(|(_, t)| t.clone())
            .expect("session")
    };
    let host = |label: &str| {
        hosts
            .iter()
            .find(|h| h.label == label)
            .cloned()
            .expect("host")
    };
    let callers = vec![
        Who {
            label: "reseller admin",
            token: alpha.admin_token.clone(),
            host: ra_host.clone(),
        },
        Who {
            label: "ops",
            token: session("ops"),
            host: host("ops"),
        },
        Who {
            label: "ca1",
            token: session("ca1"),
            host: host("ca1"),
        },
        Who {
            label: "h1",
            token: session("h1"),
            host: host("h1"),
        },
        Who {
            label: "staff",
            token: session("staff"),
            host: host("staff"),
        },
    ];
    let mut conferences = Vec::new();
    for h in &hosts {
        let admin = if h.reseller == Reseller::Alpha {
            &alpha
        } else {
            &beta
        };
        conferences.push((conference_of(app, admin, h.id).await, h.clone()));
    }
    let token_owners = vec![
        ("reseller admin", alpha.admin_token.clone(), Reseller::Alpha),
        ("ops", session("ops"), Reseller::Alpha),
        ("ca1", session("ca1"), Reseller::Alpha),
        ("beta admin", beta.admin_token.clone(), Reseller::Beta),
    ];
    World {
        alpha,
        beta,
        companies,
        hosts,
        conferences,
        callers,
        token_owners,
    }
}

/// Makes a new object like `template`, owned as it is, for a case that spends or removes it.
async fn fresh(app: &TestApp, world: &World, template: &Obj, n: usize) -> Obj {
    match template {
        Obj::Company(c) => {
            let admin = world.admin_of(c.reseller);
            let id = app.company(admin, &format!("fresh{n}")).await;
            Obj::Company(Co {
                label: "fresh",
                id,
                reseller: c.reseller,
            })
        }
        Obj::Oidc(c) => {
            let admin = world.admin_of(c.reseller);
            app.ok(
                &admin.api_host,
                &admin.admin_token,
                "company/openid/set",
                json!({"company_id": c.id, "issuer_url": "http://127.0.0.1:9/issuer",
                       "client_id": "confab", "client_secret": "s3cr3t"}),
            )
            .await;
            Obj::Oidc(c.clone())
        }
        Obj::Domain(c, _) => {
            let admin = world.admin_of(c.reseller);
            let domain = format!("fresh{n}.example.com");
            app.ok(
                &admin.api_host,
                &admin.admin_token,
                "domain/add",
                json!({"company_id": c.id, "domain": domain}),
            )
            .await;
            Obj::Domain(c.clone(), domain)
        }
        Obj::Host(h) => {
            let admin = world.admin_of(h.reseller);
            let company = world.company(h.company);
            let made = app
                .ok(
                    &admin.api_host,
                    &admin.admin_token,
                    "host/create",
                    json!({"company_id": company.id, "name": "Fresh", "email": format!("fresh{n}@fresh.tld"),
                           "role": h.role, "no_welcome_email": true}),
                )
                .await;
            Obj::Host(Hs {
                label: format!("fresh {} like {}", h.role, h.label),
                id: made["host_id"].as_i64().expect("id"),
                ..h.clone()
            })
        }
        Obj::Conference(_, h) => {
            let id = conference_of(app, world.admin_of(h.reseller), h.id).await;
            Obj::Conference(id, h.clone())
        }
        Obj::ApiToken(_, owner) => {
            let (_, token, reseller) = world
                .token_owners
                .iter()
                .find(|(o, _, _)| o == owner)
                .expect("owner");
            let host = &world.admin_of(*reseller).api_host;
            let made = app
                .ok(host, token, "api_token/create", json!({"name": "fresh"}))
                .await;
            Obj::ApiToken(made["id"].as_i64().expect("id"), owner)
        }
        Obj::Nothing | Obj::Ghost => template.clone(),
    }
}

/// The items of a list answer that lie outside the caller's scope.
fn listed_out_of_scope(world: &World, who: &Who, method: &str, body: &Value) -> Vec<String> {
    let me = &who.host;
    let own_company = world.company(me.company).id;
    let items = |field: &str| body[field].as_array().cloned().unwrap_or_default();
    let role_of = |host_id: &Value| {
        world
            .hosts
            .iter()
            .find(|h| Some(h.id) == host_id.as_i64())
            .map(|h| h.role)
    };
    let alpha_company = |id: &Value| {
        !world
            .companies
            .iter()
            .any(|c| c.reseller == Reseller::Beta && Some(c.id) == id.as_i64())
    };
    let shown = |item: &Value, host_field: &str| match me.role {
        RA => alpha_company(&item["company_id"]),
        CA => {
            item["company_id"].as_i64() == Some(own_company)
                && item
                    .get("role")
                    .map_or_else(|| role_of(&item[host_field]) != Some(RA), |role| role != RA)
        }
        _ => item[host_field].as_i64() == Some(me.id),
    };
    let leaks: Vec<Value> = match method {
        "host/list" => items("hosts")
            .into_iter()
            .filter(|h| !shown(h, "host_id"))
            .collect(),
        "conference/list" => items("conferences")
            .into_iter()
            .filter(|c| !shown(c, "host_id"))
            .collect(),
        "company/list" => items("companies")
            .into_iter()
            .filter(|c| {
                !c["domain"]
                    .as_str()
                    .is_some_and(|d| d.ends_with(".alpha.test"))
            })
            .collect(),
        _ => Vec::new(),
    };
    leaks.iter().map(Value::to_string).collect()
}

/// A caller's email and password.
fn credentials(world: &World, who: &Who) -> (String, &'static str) {
    if who.host.role == RA {
        (world.alpha.admin_email.clone(), ADMIN_PASSWORD)
    } else {
        (
            format!("{}@{}.tld", who.host.label, who.host.company),
            "HostPass123",
        )
    }
}

on_each_backend!(every_method_every_role_every_scope);

async fn every_method_every_role_every_scope(app: TestApp) {
    let rows = rows();
    let covered: BTreeSet<String> = rows.iter().map(|r| r.method.to_string()).collect();
    let mut served = router_methods();
    // Public: it is what turns a password into a caller; checked below.
    assert!(served.remove("authenticate"), "no authenticate route?");
    assert!(served.len() > 20, "router not read: {served:?}");
    assert_eq!(
        served, covered,
        "every routed method needs a row in the scope matrix"
    );

    let world = build_world(&app).await;
    let api = world.alpha.api_host.clone();
    let mut failures = Vec::new();
    let mut checked = 0;
    let mut n = 0;
    for row in &rows {
        for who in &world.callers {
            for template in world.objects(row.kind) {
                n += 1;
                let obj = if row.fresh {
                    fresh(&app, &world, &template, n).await
                } else {
                    template
                };
                // `logout` ends the session it is called with: give it one of its own.
                let token = if row.method == "logout" {
                    let (email, password) = credentials(&world, who);
                    app.login(&api, &email, password).await
                } else {
                    who.token.clone()
                };
                let allowed = row.roles.contains(&who.host.role);
                let in_scope = sees(who, &obj);
                let (status, body) = app
                    .call(&api, &token, row.method, (row.body)(&obj, n))
                    .await;
                checked += 1;
                let case = format!(
                    "{} {} on {} → {status}: {body}",
                    who.label,
                    row.method,
                    obj.describe()
                );
                if !body["message"].is_string()
                    || (status != StatusCode::OK && !body["error"].is_string())
                {
                    failures.push(format!("{case} (no message or error code)"));
                }
                let expected = if !allowed {
                    403
                } else if !in_scope {
                    404
                } else {
                    in_scope_status(row.method)
                };
                if status.as_u16() != expected {
                    failures.push(format!("{case} (expected {expected})"));
                    continue;
                }
                if status == StatusCode::OK {
                    for leak in listed_out_of_scope(&world, who, row.method, &body) {
                        failures.push(format!("{} {} lists {leak}", who.label, row.method));
                    }
                }
                // Out of scope must read exactly like an object that does not exist.
                if allowed && !in_scope {
                    let (ghost_status, ghost) = app
                        .call(&api, &token, row.method, (row.body)(&Obj::Ghost, n))
                        .await;
                    if (ghost_status, &ghost["error"], &ghost["message"])
                        != (status, &body["error"], &body["message"])
                    {
                        failures.push(format!(
                            "{case} differs from an unknown id ({ghost_status}: {ghost})"
                        ));
                    }
                }
            }
        }
    }
    println!("scope matrix: {checked} cases, {} methods", covered.len());
    assert!(
        failures.is_empty(),
        "{} of {checked} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // `authenticate`: each caller on its own reseller's domain, never on another's.
    for who in &world.callers {
        let (email, password) = credentials(&world, who);
        let body = json!({"email": email, "password": password});
        let (status, answer) = app.api(&api, "authenticate", body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{}: {answer}", who.label);
        let (status, answer) = app.api(&world.beta.api_host, "authenticate", body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{}: {answer}", who.label);
    }
}
