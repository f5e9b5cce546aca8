//! Checkpoints and their signatures in the C2SP formats, so that standard transparency-log
//! tooling reads them:
//!
//! - a checkpoint body is `"<origin>\n<tree size>\n<base64 root hash>\n"` (tlog-checkpoint);
//! - a signed note is the body, a blank line, then one line per signature,
//!   `"— <key name> <base64(key hash ‖ Ed25519 signature)>"`, where the key hash is the first four
//!   bytes of `SHA-256(key name ‖ "\n" ‖ 0x01 ‖ public key)` (signed-note);
//! - a verifier key is written `"<key name>+<key hash, 8 hex digits>+<base64(0x01 ‖ public key)>"`.

use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ring::digest::{SHA256, digest};
use ring::rand::SystemRandom;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};

use crate::merkle::Hash;
use crate::{Error, hex};

/// The algorithm byte of Ed25519 in the signed-note format.
const ED25519_ALG: u8 = 0x01;
/// The dash that opens a signature line (U+2014).
const DASH: &str = "\u{2014} ";

/// A tree head: which log, how many records, and their root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    /// The text that is signed.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        )
    }

    /// Reads a body (extension lines after the root are allowed and ignored).
    pub fn parse_body(body: &str) -> Result<Checkpoint, Error> {
        let mut lines = body.split('\n');
        let origin = lines
            .next()
            .filter(|o| !o.is_empty())
            .ok_or_else(|| Error::Malformed("the checkpoint has no origin line".into()))?;
        let size = lines
            .next()
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| {
                Error::Malformed("the checkpoint's second line is not a tree size".into())
            })?;
        let root = lines
            .next()
            .and_then(|r| B64.decode(r).ok())
            .and_then(|r| Hash::try_from(r.as_slice()).ok())
            .ok_or_else(|| {
                Error::Malformed("the checkpoint's third line is not a base64 SHA-256 root".into())
            })?;
        Ok(Checkpoint {
            origin: origin.to_string(),
            size,
            root,
        })
    }
}

fn key_hash(name: &str, public: &[u8]) -> [u8; 4] {
    let mut data = Vec::with_capacity(name.len() + 2 + public.len());
    data.extend_from_slice(name.as_bytes());
    data.push(b'\n');
    data.push(ED25519_ALG);
    data.extend_from_slice(public);
    let d = digest(&SHA256, &data);
    let mut out = [0u8; 4];
    out.copy_from_slice(&d.as_ref()[..4]);
    out
}

fn check_name(name: &str) -> Result<(), Error> {
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '+') {
        return Err(Error::Malformed(
            "a key name must be non-empty, without spaces or `+`".into(),
        ));
    }
    Ok(())
}

/// The platform's signing key.
pub struct Signer {
    name: String,
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A new key, and its PKCS#8 document to keep.
    pub fn generate(name: &str) -> Result<(Signer, Vec<u8>), Error> {
        check_name(name)?;
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .map_err(|_| Error::Key("the system's random source failed".into()))?;
        let signer = Signer::from_pkcs8(name, pkcs8.as_ref())?;
        Ok((signer, pkcs8.as_ref().to_vec()))
    }

    pub fn from_pkcs8(name: &str, pkcs8: &[u8]) -> Result<Signer, Error> {
        check_name(name)?;
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8)
            .map_err(|_| Error::Key("the key file is not an Ed25519 PKCS#8 document".into()))?;
        Ok(Signer {
            name: name.to_string(),
            pair,
        })
    }

    /// Reads the key at `path`, or makes one there first: written to a temporary file readable
    /// by its owner only, synced, then renamed, so a crash leaves either no key or a whole one.
    pub fn load_or_create(path: &Path, name: &str) -> Result<Signer, Error> {
        match std::fs::read(path) {
            Ok(bytes) => Signer::from_pkcs8(name, &bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let (signer, pkcs8) = Signer::generate(name)?;
                write_private(path, &pkcs8)?;
                Ok(signer)
            }
            Err(e) => Err(Error::Key(format!(
                "cannot read `{}`: {}",
                path.display(),
                e.kind()
            ))),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn verifier(&self) -> Verifier {
        let mut key = [0u8; 32];
        key.copy_from_slice(self.pair.public_key().as_ref());
        Verifier {
            name: self.name.clone(),
            key,
        }
    }

    /// An Ed25519 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        let mut out = [0u8; 64];
        out.copy_from_slice(self.pair.sign(message).as_ref());
        out
    }

    /// The signed note of `checkpoint`.
    pub fn sign_checkpoint(&self, checkpoint: &Checkpoint) -> String {
        let body = checkpoint.body();
        let mut sig = Vec::with_capacity(68);
        sig.extend_from_slice(&key_hash(&self.name, self.pair.public_key().as_ref()));
        sig.extend_from_slice(&self.sign(body.as_bytes()));
        format!("{body}\n{DASH}{} {}\n", self.name, B64.encode(sig))
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let io =
        |e: std::io::Error| Error::Key(format!("cannot write `{}`: {}", path.display(), e.kind()));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(&tmp).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io)?;
    if let Some(dir) = path.parent()
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

/// A public key with its name: what anyone needs to check the platform's signatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verifier {
    name: String,
    key: [u8; 32],
}

impl Verifier {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `name+hash+key` text form.
    pub fn encode(&self) -> String {
        let mut key = vec![ED25519_ALG];
        key.extend_from_slice(&self.key);
        format!(
            "{}+{}+{}",
            self.name,
            hex(&key_hash(&self.name, &self.key)),
            B64.encode(key)
        )
    }

    /// Reads the `name+hash+key` text form; the hash must match the name and key.
    pub fn parse(text: &str) -> Result<Verifier, Error> {
        let bad = |why: &str| Error::Malformed(format!("not a verifier key: {why}"));
        let text = text.trim();
        // The name has no `+`; the base64 key may.
        let mut parts = text.splitn(3, '+');
        let (Some(name), Some(hash), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("expected `name+hash+key`"));
        };
        check_name(name)?;
        let key = B64.decode(key).map_err(|_| bad("the key is not base64"))?;
        let (alg, key) = key.split_first().ok_or_else(|| bad("the key is empty"))?;
        if *alg != ED25519_ALG {
            return Err(bad("the key is not an Ed25519 key"));
        }
        let key: [u8; 32] = key
            .try_into()
            .map_err(|_| bad("an Ed25519 key has 32 bytes"))?;
        if hash != hex(&key_hash(name, &key)) {
            return Err(bad("the key hash does not match the name and key"));
        }
        Ok(Verifier {
            name: name.to_string(),
            key,
        })
    }

    /// Checks an Ed25519 signature of `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), Error> {
        UnparsedPublicKey::new(&ED25519, self.key)
            .verify(message, signature)
            .map_err(|_| Error::BadSignature(self.name.clone()))
    }

    /// Opens a signed checkpoint: this key's signature must be on it and hold.
    pub fn open_checkpoint(&self, note: &str) -> Result<Checkpoint, Error> {
        Checkpoint::parse_body(self.open_note(note)?)
    }

    /// Opens a signed note and returns its text: the first signature line with this key's name
    /// and key hash decides, as in the reference implementation.
    pub fn open_note<'n>(&self, note: &'n str) -> Result<&'n str, Error> {
        let Some(split) = note.rfind("\n\n") else {
            return Err(Error::Malformed("the note has no signature block".into()));
        };
        let body = &note[..=split];
        let mut names = Vec::new();
        let own = key_hash(&self.name, &self.key);
        for line in note[split + 2..].lines().filter(|l| !l.is_empty()) {
            let Some(rest) = line.strip_prefix(DASH) else {
                return Err(Error::Malformed(
                    "a signature line must start with `— `".into(),
                ));
            };
            let Some((name, sig)) = rest.split_once(' ') else {
                return Err(Error::Malformed(
                    "a signature line needs a name and a signature".into(),
                ));
            };
            let sig = B64
                .decode(sig)
                .map_err(|_| Error::Malformed("a signature is not base64".into()))?;
            if name == self.name && sig.len() == 68 && sig[..4] == own {
                self.verify(body.as_bytes(), &sig[4..])?;
                return Ok(body);
            }
            names.push(match sig.get(..4) {
                Some(id) => format!("`{name}` with key {}", hex(id)),
                None => format!("`{name}`"),
            });
        }
        Err(Error::WrongKey {
            expected: format!("`{}` with key {}", self.name, hex(&own)),
            found: names,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

    use super::*;
    use crate::merkle::leaf_hash;

    fn checkpoint() -> Checkpoint {
        Checkpoint {
            origin: "cleanroom.test/audit".into(),
            size: 42,
            root: leaf_hash(b"x"),
        }
    }

    #[test]
    fn a_signed_checkpoint_opens_with_its_key_only() {
        let (signer, _) = Signer::generate("cleanroom.test/audit").unwrap();
        let note = signer.sign_checkpoint(&checkpoint());
        assert!(note.starts_with("cleanroom.test/audit\n42\n"));
        assert!(note.contains("\n\n\u{2014} cleanroom.test/audit "));
        let verifier = Verifier::parse(&signer.verifier().encode()).unwrap();
        assert_eq!(verifier.open_checkpoint(&note).unwrap(), checkpoint());

        let (other, _) = Signer::generate("cleanroom.test/audit").unwrap();
        assert!(matches!(
            other.verifier().open_checkpoint(&note),
            Err(Error::WrongKey { .. })
        ));
        let forged = note.replace("\n42\n", "\n43\n");
        assert!(matches!(
            verifier.open_checkpoint(&forged),
            Err(Error::BadSignature(_))
        ));
    }

    /// The example of the signed-note specification and the reference implementation's
    /// documentation.
    #[test]
    fn the_published_example_note_verifies() {
        let verifier =
            Verifier::parse("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
                .unwrap();
        let text = "If you think cryptography is the answer to your problem,\n\
                    then you don't know what your problem is.\n";
        let note = format!(
            "{text}\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
        );
        assert_eq!(verifier.open_note(&note).unwrap(), text);
        let changed = note.replace("problem,", "problem;");
        assert!(matches!(
            verifier.open_note(&changed),
            Err(Error::BadSignature(_))
        ));
    }

    #[test]
    fn a_verifier_key_with_a_wrong_hash_is_refused() {
        let (signer, _) = Signer::generate("a").unwrap();
        let text = signer.verifier().encode();
        let (name, rest) = text.split_once('+').unwrap();
        let (_, key) = rest.split_once('+').unwrap();
        assert!(Verifier::parse(&format!("{name}+00000000+{key}")).is_err());
        assert!(Verifier::parse("nonsense").is_err());
    }

    #[test]
    fn the_key_file_is_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/platform.key");
        let a = Signer::load_or_create(&path, "n").unwrap();
        let b = Signer::load_or_create(&path, "n").unwrap();
        assert_eq!(a.verifier(), b.verifier());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
