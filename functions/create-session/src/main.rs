edge::http_main!(create_session::handle, |app| edge::compose::with_captcha_provider(app)?);
