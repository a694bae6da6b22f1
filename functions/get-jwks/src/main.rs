edge::http_main!(get_jwks::handle);
