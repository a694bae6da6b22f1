// Only this function (and `deliver`) reads the named template sets; this one
// needs their names only.
edge::http_main!(send_code::handle, |app| {
    let templates = edge::compose::template_index_from_env()?;
    edge::compose::with_captcha_provider(app.with_template_index(templates))?
});
