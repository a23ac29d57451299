"""TLS on 127.0.0.1 in front of a plain-HTTP server (moto), so a benchmark can see what a
function's first HTTPS call costs: the handshake real AWS endpoints make it pay.

The certificates are made here for `localhost`; clients trust their root through
SSL_CERT_FILE (the system bundle with the root added), which the SDK's rustls client reads
in place of the system roots.
"""

import asyncio
import contextlib
import datetime
import os
import ssl
import tempfile
import threading

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def _certificate(subject, issuer, public_key, signing_key, ca, names=()):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]),
                                        critical=False)
    return builder.sign(signing_key, hashes.SHA256())


def chain(directory):
    """A root, an intermediate and a leaf for localhost, RSA 2048 like the certificates AWS
    endpoints present, as files: (root path, chain path, key path). The server sends leaf
    and intermediate; the client trusts the root."""
    rsa_key = lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)  # noqa: E731
    root_key, middle_key, leaf_key = rsa_key(), rsa_key(), rsa_key()
    root = _certificate("warden bench root", "warden bench root", root_key.public_key(), root_key, True)
    middle = _certificate("warden bench intermediate", "warden bench root", middle_key.public_key(),
                          root_key, True)
    leaf = _certificate("localhost", "warden bench intermediate", leaf_key.public_key(), middle_key,
                        False, ["localhost"])
    paths = [os.path.join(directory, name) for name in ("root.pem", "chain.pem", "key.pem")]
    pem = serialization.Encoding.PEM
    with open(paths[0], "wb") as f:
        f.write(root.public_bytes(pem))
    with open(paths[1], "wb") as f:
        f.write(leaf.public_bytes(pem) + middle.public_bytes(pem))
    with open(paths[2], "wb") as f:
        f.write(leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return paths


class TlsTerminator:
    """Accepts TLS on a free port and pipes each connection to 127.0.0.1:`target_port`."""

    def __init__(self, target_port):
        self._dir = tempfile.TemporaryDirectory(prefix="warden-tls-")
        root, certificates, key = chain(self._dir.name)
        # SSL_CERT_FILE replaces the system roots: keep them in, so loading the trust store
        # costs what it costs in Lambda.
        self.cert = os.path.join(self._dir.name, "trust.pem")
        with open(self.cert, "wb") as out:
            for path in (ssl.get_default_verify_paths().cafile or SYSTEM_BUNDLE, root):
                with contextlib.suppress(FileNotFoundError), open(path, "rb") as f:
                    out.write(f.read())
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certificates, key)
        self._target = target_port
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()

        async def start():
            self._server = await asyncio.start_server(self._pipe, "127.0.0.1", 0, ssl=context)
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()

        threading.Thread(target=self._loop.run_forever, daemon=True).start()
        asyncio.run_coroutine_threadsafe(start(), self._loop)
        ready.wait(10)

    @property
    def endpoint(self):
        return f"https://localhost:{self.port}"

    async def _pipe(self, client_reader, client_writer):
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self._target)
        except OSError:
            client_writer.close()
            return

        async def copy(reader, writer):
            try:
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, ssl.SSLError):
                pass
            finally:
                writer.close()

        await asyncio.gather(copy(client_reader, upstream_writer), copy(upstream_reader, client_writer))

    def close(self):
        self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._dir.cleanup()
