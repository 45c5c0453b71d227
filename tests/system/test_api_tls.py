"""The Control API over TLS: a server given a certificate and key speaks TLS only.

The server runs in the test's own event loop (``listener.start_server``) over the session's
real controller; the certificate is a throwaway self-signed one for 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.ray


def self_signed(directory: Path) -> tuple[str, str]:
    """A certificate and key (PEM files) valid for 127.0.0.1 for one day."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "api.crt", directory / "api.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_file), str(key_file)


async def test_tls_server_answers_tls_clients_only(o2: Any, tmp_path: Path) -> None:
    from o2ctl.api.client import ApiClient, ApiError
    from o2ctl.api.listener import start_server, stop_server

    cert, key = self_signed(tmp_path)
    running = await start_server(o2.controller, "tls-token", tls_cert=cert, tls_key=key)
    try:

        def ask(**tls: Any) -> dict[str, Any]:
            with ApiClient(running.address, "tls-token", **tls) as client:
                return client.info()

        info = await asyncio.to_thread(ask, ca_file=cert)
        assert info["state"] == "CONNECTED"
        with pytest.raises(ApiError) as err:
            await asyncio.to_thread(ask)  # a plaintext client cannot talk to it
        assert err.value.code == "UNAVAILABLE"
        assert running.address in str(err.value)
    finally:
        await stop_server(running)
