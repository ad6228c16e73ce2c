"""Cross-check kiln's DSSE envelopes with securesystemslib's own DSSE code.

Usage: check_dsse.py DIR, where DIR holds what tests/python.rs wrote:

  envelope.intoto.jsonl  one envelope per line, made by kiln-provenance
  key.pub.pem            the signer's public key (SPKI PEM), written by kiln
  key.pem                the signer's private key (PKCS#8 PEM), written by kiln

Checks, with securesystemslib and pyca/cryptography only (no kiln code):

1. kiln's keyid is the sha256 of the key's DER SubjectPublicKeyInfo;
2. securesystemslib.dsse.Envelope verifies every line with that public key,
   and refuses a copy with one payload byte flipped (so the check is not
   vacuous);
3. the payload is an in-toto Statement v1 with a SLSA Provenance v1 predicate;
4. the other way round: kiln's private key loads in cryptography, and
   securesystemslib signs the same payload with it into
   DIR/python.intoto.jsonl, for the Rust side to verify.

Prints "ok" when all hold; anything else raises.
"""

import hashlib
import json
import sys
from pathlib import Path

from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)
from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import VerificationError
from securesystemslib.signer import CryptoSigner, SSlibKey

PAYLOAD_TYPE = "application/vnd.in-toto+json"


def main(directory: Path) -> None:
    public = load_pem_public_key((directory / "key.pub.pem").read_bytes())
    spki_der = public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    keyid = hashlib.sha256(spki_der).hexdigest()
    key = SSlibKey.from_crypto(public, keyid=keyid)

    lines = (directory / "envelope.intoto.jsonl").read_text().splitlines()
    assert lines, "no envelope"
    for number, line in enumerate(lines, 1):
        data = json.loads(line)
        assert [s["keyid"] for s in data["signatures"]] == [keyid], (
            f"line {number}: kiln's keyid is not sha256(SPKI DER) = {keyid}"
        )
        envelope = Envelope.from_dict(json.loads(line))
        accepted = envelope.verify([key], 1)
        assert list(accepted) == [keyid], accepted
        assert envelope.payload_type == PAYLOAD_TYPE, envelope.payload_type

        statement = json.loads(envelope.payload)
        assert statement["_type"] == "https://in-toto.io/Statement/v1", statement
        assert statement["predicateType"] == "https://slsa.dev/provenance/v1", statement

        tampered = Envelope.from_dict(json.loads(line))
        tampered.payload = bytes([tampered.payload[0] ^ 1]) + tampered.payload[1:]
        try:
            tampered.verify([key], 1)
        except VerificationError:
            pass
        else:
            raise AssertionError(f"line {number}: a tampered payload verified")

    private = load_pem_private_key((directory / "key.pem").read_bytes(), password=None)
    signer = CryptoSigner(private, key)
    out = []
    for line in lines:
        kiln = Envelope.from_dict(json.loads(line))
        ours = Envelope(kiln.payload, kiln.payload_type, {})
        ours.sign(signer)
        out.append(json.dumps(ours.to_dict(), separators=(",", ":")) + "\n")
    (directory / "python.intoto.jsonl").write_text("".join(out))
    print("ok")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
