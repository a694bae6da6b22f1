//! One set of endpoints: template.yaml, the dev server's route table and the
//! crates under functions/ must name the same (method, path, function).

use std::collections::BTreeSet;

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// (method, path, binary) for every function in template.yaml.
fn template_routes() -> BTreeSet<(String, String, String)> {
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    let mut routes = BTreeSet::new();
    let (mut binary, mut method) = (None::<String>, None::<String>);
    for line in text.lines().map(str::trim) {
        if let Some(b) = line.strip_prefix("Binary: ") {
            binary = Some(b.to_string());
        } else if let Some(m) = line.strip_prefix("Method: ") {
            method = Some(m.to_string());
        } else if let Some(p) = line.strip_prefix("Path: ") {
            let (b, m) = (
                binary.take().expect("Binary before Path"),
                method.take().expect("Method before Path"),
            );
            routes.insert((m, p.to_string(), b));
        }
    }
    routes
}

#[test]
fn template_dev_server_and_crates_agree() {
    let template = template_routes();
    let dev: BTreeSet<_> = devserver::routes()
        .into_iter()
        .map(|r| (r.method.to_string(), r.path.to_string(), r.function.replace('_', "-")))
        .collect();
    assert_eq!(template, dev, "template.yaml and the dev server differ");

    let crates: BTreeSet<String> = std::fs::read_dir(root().join("functions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    // Every function crate is in the template: behind a route, or (the
    // delivery and bounce functions) fed by the stream or a topic.
    let mut deployed: BTreeSet<String> = template.iter().map(|(_, _, b)| b.clone()).collect();
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    for unrouted in ["deliver", "record-bounces"] {
        assert!(text.contains(&format!("Binary: {unrouted}\n")), "{unrouted} in template.yaml");
        deployed.insert(unrouted.to_string());
    }
    assert_eq!(crates, deployed, "functions/ and template.yaml differ");

    // Every function is a workspace member with a handler and a short main.
    for name in &crates {
        let main = std::fs::read_to_string(root().join("functions").join(name).join("src/main.rs"))
            .unwrap();
        assert!(
            main.contains(&format!("{}::handle", name.replace('-', "_"))),
            "{name}/src/main.rs"
        );
        assert!(main.lines().count() <= 15, "{name}/src/main.rs stays short");
    }
}

/// The endpoints of the contract, all routed.
#[test]
fn every_contract_endpoint_exists() {
    let template = template_routes();
    for (method, path) in [
        ("POST", "/v1/captchas"),
        ("POST", "/v1/codes"),
        ("POST", "/v1/codes/verify"),
        ("POST", "/v1/accounts"),
        ("POST", "/v1/sessions"),
        ("DELETE", "/v1/sessions/current"),
        ("GET", "/v1/me"),
        ("PUT", "/v1/me/password"),
        ("PUT", "/v1/me/email"),
        ("PUT", "/v1/me/phone"),
        ("POST", "/v1/password-resets"),
        ("POST", "/v1/login-links"),
        ("POST", "/v1/login-links/redeem"),
        ("POST", "/v1/invites"),
    ] {
        assert!(template.iter().any(|(m, p, _)| m == method && p == path), "{method} {path}");
    }
}

/// openapi.yaml documents exactly the routed endpoints.
#[test]
fn openapi_documents_every_endpoint() {
    let text = std::fs::read_to_string(root().join("openapi.yaml")).unwrap();
    let mut documented = BTreeSet::new();
    let mut path = None::<String>;
    for line in text.lines() {
        if let Some(p) = line.strip_prefix("  /").and_then(|p| p.strip_suffix(':')) {
            path = Some(format!("/{p}"));
        } else if let (Some(p), Some(m)) =
            (&path, line.strip_prefix("    ").and_then(|m| m.strip_suffix(':')))
        {
            if ["get", "post", "put", "delete", "patch"].contains(&m) {
                documented.insert((m.to_uppercase(), p.clone()));
            }
        } else if !line.starts_with(' ') {
            path = None;
        }
    }
    let routed: BTreeSet<_> = template_routes().into_iter().map(|(m, p, _)| (m, p)).collect();
    assert_eq!(documented, routed);
    assert_eq!(devserver::OPENAPI, text, "the dev server serves this file");
}
