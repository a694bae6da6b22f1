edge::http_main!(redeem_verification::handle);
