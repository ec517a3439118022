"""https targets: TLS verified by default (the system's trust store, or ``SSL_CERT_FILE``),
against a TLS server on loopback with a certificate of its own for ``localhost``."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from canaryctl.load import run_in_background
from canaryctl.load.http import HttpClient, TransportError
from canaryctl.load.ws import ws_url


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    sans = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@dataclass
class TlsServer:
    port: int
    cert: Path
    requests: int = 0

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}"


@pytest.fixture
async def tls_server(tmp_path: Path) -> AsyncIterator[TlsServer]:
    cert, key = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = TlsServer(0, cert)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        body = b'{"player_id": "p1", "token": "t1"}'
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                server.requests += 1
                writer.write(b"HTTP/1.1 201 Created\r\ncontent-length: %d\r\n\r\n" % len(body))
                writer.write(body)
                await writer.drain()
        writer.close()

    tcp = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
    server.port = tcp.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        tcp.close()


async def test_an_https_target_is_verified_against_the_trust_store(tls_server: TlsServer):
    untrusted = HttpClient(tls_server.url, timeout=5)
    with pytest.raises(TransportError, match="CERTIFICATE_VERIFY_FAILED"):
        await untrusted.request("GET", "/healthz")
    await untrusted.aclose()
    assert tls_server.requests == 0
    trusted = HttpClient(
        tls_server.url, timeout=5, ssl=ssl.create_default_context(cafile=str(tls_server.cert))
    )
    resp = await trusted.request("POST", "/v1/players", json={"name": "x"})
    assert resp.status == 201 and resp.json()["player_id"] == "p1"
    await trusted.aclose()
    assert tls_server.requests == 1


async def test_the_load_generator_speaks_https_trusting_ssl_cert_file(
    tls_server: TlsServer, monkeypatch: pytest.MonkeyPatch
):
    # The way a user trusts a private CA (OpenSSL reads SSL_CERT_FILE for the default store).
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_server.cert))
    handle = run_in_background(
        tls_server.url, "steady", rps=40, duration=1.5, seed=3, admin_key="k"
    )
    summary = await asyncio.to_thread(handle.wait, 15)
    assert summary is not None and "error" not in summary, summary
    assert summary["target"] == tls_server.url
    assert summary["requests"] == tls_server.requests > 20
    assert summary["errors"] == 0, summary


async def test_without_trust_the_load_generator_sends_nothing(tls_server: TlsServer):
    handle = run_in_background(
        tls_server.url, "steady", rps=40, duration=1.0, seed=3, admin_key="k"
    )
    summary = await asyncio.to_thread(handle.wait, 15)
    assert summary is not None and summary["requests"] > 20
    assert tls_server.requests == 0  # every handshake failed: no request got through
    assert summary["errors"] == summary["requests"], summary


def test_websocket_players_use_wss_on_an_https_target():
    assert ws_url("https://alb.example:8443/game/") == "wss://alb.example:8443/game/v1/ws"
    assert ws_url("http://127.0.0.1:8080") == "ws://127.0.0.1:8080/v1/ws"
