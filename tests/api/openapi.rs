//! The OpenAPI document says what the server accepts: validation rules on request fields, the
//! error answers of every operation, which fields and bodies are optional; and the server refuses
//! what the document rules out.

use reqwest::StatusCode;
use serde_json::{Map, Value, json};

use crate::{helpers::TestApp, on_each_backend};

async fn document(app: &TestApp) -> Value {
    let response = app
        .page("reseller-admin.alpha.test", "/enterprise_api/openapi.json")
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("json")
}

/// Follows a `$ref` into the components.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference
                .strip_prefix("#/components/schemas/")
                .expect("local reference");
            &doc["components"]["schemas"][name]
        }
        None => schema,
    }
}

/// `(operation path, request body object schema)` of every operation.
fn request_schemas(doc: &Value) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let schema = &item["post"]["requestBody"]["content"]["application/json"]["schema"];
        assert!(schema.is_object(), "{path} has no JSON request body");
        out.push((path.clone(), resolve(doc, schema)));
    }
    out
}

fn properties(schema: &Value) -> &Map<String, Value> {
    schema["properties"].as_object().expect("properties")
}

fn required(schema: &Value) -> Vec<&str> {
    schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The types a property allows (`type` as a string or list, or the branches of `oneOf`).
fn types(doc: &Value, property: &Value) -> Vec<String> {
    if let Some(branches) = property["oneOf"].as_array() {
        return branches.iter().flat_map(|b| types(doc, b)).collect();
    }
    let property = resolve(doc, property);
    match &property["type"] {
        Value::String(t) => vec![t.clone()],
        Value::Array(list) => list
            .iter()
            .filter_map(|t| t.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    }
}

/// The non-null branches of a property, references resolved.
fn branches<'a>(doc: &'a Value, property: &'a Value) -> Vec<&'a Value> {
    match property["oneOf"].as_array() {
        Some(list) => list
            .iter()
            .map(|b| resolve(doc, b))
            .filter(|b| b["type"] != "null")
            .collect(),
        None => vec![resolve(doc, property)],
    }
}

on_each_backend!(openapi_documents_errors_and_validation_rules);

async fn openapi_documents_errors_and_validation_rules(app: TestApp) {
    let doc = document(&app).await;
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 32, "every method is documented");

    let mut operation_ids = Vec::new();
    for (path, item) in paths {
        let operation = &item["post"];
        let id = operation["operationId"].as_str().expect("operationId");
        assert!(!operation_ids.contains(&id), "operationId {id} twice");
        operation_ids.push(id);
        let responses = operation["responses"].as_object().expect("responses");
        let public = path == "/enterprise_api/authenticate";
        let mut expected = vec!["200", "400", "404", "413"];
        if !public {
            expected.push("401");
        }
        for status in expected {
            assert!(responses.contains_key(status), "{path} lacks a {status}");
        }
        for (status, response) in responses {
            if status.starts_with('2') {
                continue;
            }
            assert_eq!(
                response["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/ErrorBody",
                "{path} {status} answers an ErrorBody"
            );
        }
    }

    for (path, schema) in request_schemas(&doc) {
        let required = required(schema);
        let body_required = doc["paths"][&path]["post"]["requestBody"]["required"] == true;
        assert_eq!(
            body_required,
            !required.is_empty(),
            "{path}: a body is required exactly when it has required fields"
        );
        for (name, property) in properties(schema) {
            let types = types(&doc, property);
            let nullable = types.iter().any(|t| t == "null");
            assert!(
                !(nullable && required.contains(&name.as_str())),
                "{path} {name}: a nullable field is not required"
            );
            for branch in branches(&doc, property) {
                if name.ends_with("_id") && branch["type"] == "integer" {
                    assert_eq!(branch["minimum"], 1, "{path} {name} has minimum 1");
                }
                if branch["type"] == "string" {
                    let bounded = branch["maxLength"].is_number() || branch["enum"].is_array();
                    let unbounded_by_design = ["auth_token", "logo", "favicon"];
                    assert!(
                        bounded || unbounded_by_design.contains(&name.as_str()),
                        "{path} {name} has a maxLength or an enum"
                    );
                }
            }
            if name == "limit" {
                assert_eq!(property["minimum"], 1, "{path} limit");
                assert_eq!(property["maximum"], 200, "{path} limit");
            }
            if name == "offset" {
                assert_eq!(property["minimum"], 0, "{path} offset");
            }
        }
    }
}

/// Whether `value` keeps the string rules of `schema` (length and pattern).
fn string_fits(schema: &Value, value: &str) -> bool {
    let chars = value.chars().count() as u64;
    let min_ok = schema["minLength"].as_u64().is_none_or(|m| chars >= m);
    let max_ok = schema["maxLength"].as_u64().is_none_or(|m| chars <= m);
    let pattern_ok = schema["pattern"].as_str().is_none_or(|p| {
        regex::Regex::new(p)
            .unwrap_or_else(|e| panic!("pattern {p}: {e}"))
            .is_match(value)
    });
    min_ok && max_ok && pattern_ok
}

on_each_backend!(openapi_examples_keep_their_own_rules);

/// Every example in the request schemas meets the rules beside it, so generated bodies that start
/// from the examples are valid.
async fn openapi_examples_keep_their_own_rules(app: TestApp) {
    let doc = document(&app).await;
    for (path, schema) in request_schemas(&doc) {
        for (name, property) in properties(schema) {
            let Some(example) = property.get("example") else {
                continue;
            };
            let fits = branches(&doc, property).iter().any(|branch| {
                match (example, branch["type"].as_str()) {
                    (Value::String(s), _) => {
                        branch["enum"]
                            .as_array()
                            .is_none_or(|choices| choices.contains(example))
                            && string_fits(branch, s)
                    }
                    (Value::Number(n), _) => {
                        let n = n.as_f64().expect("number");
                        branch["minimum"].as_f64().is_none_or(|m| n >= m)
                            && branch["maximum"].as_f64().is_none_or(|m| n <= m)
                    }
                    (Value::Array(items), _) => items.iter().all(|item| match item {
                        Value::String(s) => {
                            let items = resolve(&doc, &branch["items"]);
                            items["enum"]
                                .as_array()
                                .is_none_or(|choices| choices.contains(item))
                                && string_fits(items, s)
                        }
                        _ => true,
                    }),
                    _ => true,
                }
            });
            assert!(
                fits,
                "{path} {name}: example {example} breaks its own rules"
            );
        }
    }
}

on_each_backend!(ids_below_the_documented_minimum_are_refused);

/// Every documented `minimum: 1` id is enforced: an id of 0 answers 400 naming the field.
async fn ids_below_the_documented_minimum_are_refused(app: TestApp) {
    let doc = document(&app).await;
    let r = app.alpha.clone();
    let api = r.api_host.as_str();
    for (path, schema) in request_schemas(&doc) {
        let method = path.trim_start_matches("/enterprise_api/");
        for (name, property) in properties(schema) {
            if !name.ends_with("_id") || !types(&doc, property).contains(&"integer".into()) {
                continue;
            }
            // The other required fields from their examples, so only the id can be wrong.
            let mut body = Map::new();
            for field in required(schema) {
                let example = properties(schema)[field]
                    .get("example")
                    .cloned()
                    .unwrap_or(json!("x"));
                body.insert(field.to_string(), example);
            }
            body.insert(name.clone(), json!(0));
            let (status, answer) = app.call(api, &r.admin_token, method, json!(body)).await;
            assert_eq!(
                status,
                StatusCode::BAD_REQUEST,
                "{method} {name}=0: {answer}"
            );
            let message = answer["message"].as_str().unwrap_or_default();
            assert!(message.starts_with(name.as_str()), "{method}: {message}");
        }
    }
}

on_each_backend!(integral_numbers_written_with_a_fraction_are_integers);

/// JSON Schema counts `1.0` as an integer, so the server takes it as one; `1.5` stays refused.
async fn integral_numbers_written_with_a_fraction_are_integers(app: TestApp) {
    let r = app.alpha.clone();
    let api = r.api_host.as_str();
    let listed = app
        .ok(
            api,
            &r.admin_token,
            "company/list",
            json!({"limit": 2.0, "offset": 0.0}),
        )
        .await;
    assert_eq!(listed["limit"], 2);
    let company = listed["companies"][0]["id"]
        .as_i64()
        .expect("admin company");
    let shown = app
        .ok(
            api,
            &r.admin_token,
            "company/get",
            json!({"company_id": company as f64}),
        )
        .await;
    assert_eq!(shown["id"], company);
    let (status, answer) = app
        .call(
            api,
            &r.admin_token,
            "company/get",
            json!({"company_id": 1.5}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("company_id")
    );
    // An integer literal beyond i64 is read as a float rounded to -2^63; it stays refused.
    let hosts = app.ok(api, &r.admin_token, "host/list", json!({})).await;
    let host_id = &hosts["hosts"][0]["host_id"];
    let raw = format!(
        r#"{{"auth_token": "{}", "host_id": {host_id}, "subscription_ids": [-9223372036854775809]}}"#,
        r.admin_token
    );
    let (status, answer) = app.api_raw(api, "host/update", raw).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("subscription_ids"),
        "{answer}"
    );
}
