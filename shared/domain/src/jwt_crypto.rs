//! The cryptography under `jsonwebtoken`, EdDSA (Ed25519) only: the one
//! algorithm tokens are signed and checked with. The crate's own RustCrypto
//! provider links RSA, ECDSA and HMAC as well, because it picks the
//! algorithm at run time (~0.25 MiB in every function that checks a
//! session); anything but EdDSA is refused here, as `TokenKeys::verify`
//! already refuses it from the header.

use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::signature::{Error as SignatureError, Signer, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, EncodingKey};

struct Ed25519Signer(SigningKey);

impl Signer<Vec<u8>> for Ed25519Signer {
    fn try_sign(&self, msg: &[u8]) -> std::result::Result<Vec<u8>, SignatureError> {
        let signature: Signature = ed25519_dalek::Signer::sign(&self.0, msg);
        Ok(signature.to_bytes().to_vec())
    }
}

impl JwtSigner for Ed25519Signer {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}

struct Ed25519Verifier(VerifyingKey);

impl Verifier<Vec<u8>> for Ed25519Verifier {
    fn verify(&self, msg: &[u8], signature: &Vec<u8>) -> std::result::Result<(), SignatureError> {
        self.0.verify_strict(msg, &Signature::from_slice(signature)?)
    }
}

impl JwtVerifier for Ed25519Verifier {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}

/// The last 32 bytes of `bytes` (a PKCS#8 Ed25519 key ends with its seed;
/// a public key is exactly 32 bytes).
fn last_32(bytes: &[u8]) -> Result<[u8; 32]> {
    let tail = bytes.get(bytes.len().wrapping_sub(32)..).ok_or(ErrorKind::InvalidEddsaKey)?;
    Ok(tail.try_into().map_err(|_| ErrorKind::InvalidEddsaKey)?)
}

fn signer(alg: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    if *alg != Algorithm::EdDSA || key.family() != AlgorithmFamily::Ed {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    Ok(Box::new(Ed25519Signer(SigningKey::from_bytes(&last_32(key.as_bytes())?))))
}

fn verifier(alg: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    if *alg != Algorithm::EdDSA || key.family() != AlgorithmFamily::Ed {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    let public = VerifyingKey::from_bytes(&last_32(key.try_get_as_bytes()?)?)
        .map_err(|_| ErrorKind::InvalidEddsaKey)?;
    Ok(Box::new(Ed25519Verifier(public)))
}

static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: signer,
    verifier_factory: verifier,
    key_utils: KeyUtils::new_unimplemented(),
};

/// Makes this the process's provider (once; later calls change nothing).
pub(crate) fn install() {
    let _ = PROVIDER.install_default();
}
