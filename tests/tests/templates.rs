//! Named template sets (`TEMPLATES_DIR`, the `template` of `POST /v1/codes`):
//! end to end on both stores, and refused at start when broken.

use domain::templates::{TemplateError, TemplateIndex, TemplateSets};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use vericode_tests::{Backend, TestApp, app_with_templates, both_stores, parts, request};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/templates")
}

async fn send(t: &TestApp, body: Value) -> (u16, Value) {
    let mut body = body;
    let (id, answer) = t.captcha().await;
    body["captcha"] = json!({"id": id, "answer": answer});
    parts(&send_code::handle(&t.app, request(&body, "198.51.100.40", None)).await)
}

async fn codes_are_written_with_the_named_set(b: Backend) {
    let sets = TemplateSets::load(&fixtures()).expect("the fixture sets load");
    let t = app_with_templates(b, Arc::new(sets)).await;
    let email = |to: &str, template: &str| json!({"channel": "email", "to": to, "purpose": "register", "template": template});

    let (status, body) = send(&t, email("a@example.com", "welcome")).await;
    assert_eq!(status, 202, "{body}");
    let m = &t.mailbox.to("a@example.com")[0];
    let code = m.code.clone().unwrap();
    assert_eq!(
        m.subject.as_deref(),
        Some(format!("Vericode: welcome aboard! Your code is {code}").as_str())
    );
    assert!(
        m.text.starts_with("Welcome to Vericode!") && m.text.contains("10 minutes"),
        "{}",
        m.text
    );

    // Chinese SMS from the set's own zh-Hans; Chinese email falls back to its en.
    let sms = json!({"channel": "sms", "to": "+8613800138000", "purpose": "register",
        "template": "welcome", "locale": "zh-Hans"});
    assert_eq!(send(&t, sms).await.0, 202);
    let m = &t.mailbox.to("+8613800138000")[0];
    assert!(m.text.starts_with("欢迎加入 Vericode！验证码"), "{}", m.text);
    let mut zh = email("b@example.com", "welcome");
    zh["locale"] = json!("zh-Hans");
    assert_eq!(send(&t, zh).await.0, 202);
    assert!(t.mailbox.to("b@example.com")[0].text.starts_with("Welcome to Vericode!"));

    // `default` (or none) is the built-in set.
    assert_eq!(send(&t, email("c@example.com", "default")).await.0, 202);
    assert!(t.mailbox.to("c@example.com")[0].subject.as_deref().unwrap().contains("sign-up code"));

    // Unknown sets, and sets without the channel, are refused and send nothing.
    for (to, template) in
        [("d@example.com", "nope"), ("d@example.com", "sms-only"), ("d@example.com", "../welcome")]
    {
        let (status, body) = send(&t, email(to, template)).await;
        assert_eq!(status, 400, "{template}: {body}");
        assert_eq!(
            (&body["error"]["code"], &body["error"]["field"]),
            (&json!("invalid_request"), &json!("template"))
        );
    }
    assert!(t.mailbox.to("d@example.com").is_empty());
    let sms = json!({"channel": "sms", "to": "+8613800138001", "purpose": "register", "template": "sms-only"});
    assert_eq!(send(&t, sms).await.0, 202);
    assert_eq!(
        t.mailbox.to("+8613800138001")[0].text,
        format!("Vericode code {}", t.last_code("+8613800138001").unwrap())
    );
}

both_stores!(codes_are_written_with_the_named_set);

/// A folder under the temp dir with `files` (path → text).
fn tree(files: &[(&str, &str)]) -> PathBuf {
    let root = std::env::temp_dir().join(format!("vericode-templates-{}", uuid::Uuid::new_v4()));
    for (path, text) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    root
}

fn refusal(files: &[(&str, &str)]) -> TemplateError {
    TemplateSets::load(&tree(files)).expect_err("a broken set is refused")
}

#[test]
fn a_broken_set_is_refused_at_load_naming_its_file() {
    let sms = "welcome/en/code.sms.txt";
    let e = refusal(&[(sms, "{{ code ")]);
    assert!(e.file.ends_with(sms), "{e}");
    let e = refusal(&[(sms, "{{ code | no_such_filter }}")]);
    assert!(e.file.ends_with(sms), "{e}");
    let e = refusal(&[("welcome/zh-Hans/code.sms.txt", "{{ code }}")]);
    assert!(e.file.ends_with("welcome/en") && e.reason.contains("en"), "{e}");
    let e = refusal(&[(sms, "{{ code }}"), ("welcome/en/code.text", "{{ code }}")]);
    assert!(e.file.ends_with("welcome/en/code.text"), "{e}");
    let e = refusal(&[("welcome/en/code.txt", "{{ code }}")]);
    assert!(e.reason.contains("code.subject.txt"), "{e}");
    let e = refusal(&[("Welcome/en/code.sms.txt", "{{ code }}")]);
    assert!(e.file.ends_with("Welcome"), "{e}");
    let e = refusal(&[("default/en/code.sms.txt", "{{ code }}")]);
    assert!(e.file.ends_with("default"), "{e}");
    let e = refusal(&[("welcome/fr/code.sms.txt", "{{ code }}")]);
    assert!(e.file.ends_with("welcome/fr"), "{e}");
    let e = refusal(&[(sms, "   ")]);
    assert!(e.reason.contains("empty"), "{e}");
    assert!(TemplateSets::load(Path::new("/no/such/templates/dir")).is_err());
}

/// A set is written as the built-in one is: built-in filters work, and
/// what goes into an `.html` file is escaped (a text file's is not).
#[test]
fn sets_have_the_built_in_filters_and_escape_html() {
    let sets = TemplateSets::load(&tree(&[
        ("brand/en/code.subject.txt", "{{ app_name | upper }}: {{ code }}"),
        ("brand/en/code.txt", "{{ app_name }} {{ code }}"),
        ("brand/en/code.html", "<b>{{ app_name }}</b> {{ code | default('none') }}"),
    ]))
    .expect("the set loads");
    let ctx = minijinja::context! { app_name => "Tom & <Jerry>", code => "123456" };
    let en = domain::catalog::Locale::default();
    let render = |file: &str| sets.render("brand", en, file, &ctx).unwrap().unwrap();
    assert_eq!(render("code.subject.txt"), "TOM & <JERRY>: 123456");
    assert_eq!(render("code.txt"), "Tom & <Jerry> 123456");
    assert_eq!(render("code.html"), "<b>Tom &amp; &lt;Jerry&gt;</b> 123456");
}

/// The send function reads only the sets' index: the same sets and
/// channels as a full load, the same layout refusals, nothing compiled.
#[test]
fn the_index_names_the_same_sets_without_compiling_them() {
    let loaded = TemplateSets::load(&fixtures()).expect("the fixture sets load");
    let index = TemplateIndex::read(&fixtures()).expect("the fixture sets index");
    for name in ["default", "welcome", "sms-only", "no-such-set"] {
        for channel in [domain::address::Channel::Email, domain::address::Channel::Sms] {
            assert_eq!(index.serves(name, channel), loaded.index().serves(name, channel), "{name}");
        }
    }
    let layout = tree(&[("welcome/zh-Hans/code.sms.txt", "{{ code }}")]);
    let e = TemplateIndex::read(&layout).expect_err("no en");
    assert!(e.file.ends_with("welcome/en"), "{e}");
    let broken = tree(&[("welcome/en/code.sms.txt", "{{ code ")]);
    assert!(
        TemplateIndex::read(&broken)
            .is_ok_and(|s| s.serves("welcome", domain::address::Channel::Sms))
    );
    assert!(TemplateSets::load(&broken).is_err());
}
