edge::http_main!(delete_account::handle);
