edge::http_main!(create_captcha::handle, |app| app.with_image_renderer());
