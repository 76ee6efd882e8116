"""Server TLS from PEM files, picking up renewed certificates without a restart.

cert-manager and Kubernetes renew a certificate by rewriting the mounted
Secret; gRPC asks `_Certificates.fetch` at the start of every new connection
whether the files changed (a stat of each), so new connections get the new
certificate and open ones keep theirs.
"""

from __future__ import annotations

import logging
import pathlib
from dataclasses import dataclass

import grpc

from ..errors import DiscretionError
from ..events import event
from ..store.watch import Watched, all_present

__all__ = ["TlsFiles", "TlsUnreadable", "server_credentials"]

log = logging.getLogger("discretion.server")


class TlsUnreadable(DiscretionError):
    """A certificate, key or client CA file could not be read."""


@dataclass(frozen=True, slots=True)
class TlsFiles:
    certificate: pathlib.Path | str  # PEM chain presented to clients
    private_key: pathlib.Path | str
    client_ca: pathlib.Path | str | None = None  # PEM roots; given, clients must present a certificate it signed


class _Certificates:
    def __init__(self, files: TlsFiles, reports: bool):
        self._files = files
        self._reports = reports  # False in a server's other workers: worker 0 says it for all
        paths = [pathlib.Path(p) for p in (files.certificate, files.private_key, files.client_ca) if p]
        self._watched = Watched(paths)
        self.initial = self._configuration()

    def _configuration(self) -> grpc.ServerCertificateConfiguration:
        files = self._files
        try:
            key = pathlib.Path(files.private_key).read_bytes()
            chain = pathlib.Path(files.certificate).read_bytes()
            roots = pathlib.Path(files.client_ca).read_bytes() if files.client_ca else None
        except OSError as error:
            raise TlsUnreadable(f"cannot read TLS files: {error}") from error
        return grpc.ssl_server_certificate_configuration([(key, chain)], root_certificates=roots)

    def fetch(self) -> grpc.ServerCertificateConfiguration | None:
        """A new configuration when the files changed since the last look, else None (keep the current one)."""
        now = self._watched.look()
        # A file missing is one caught mid-swap: look again next time.
        if not all_present(now) or now == self._watched.seen:
            return None
        try:
            configuration = self._configuration()
        except TlsUnreadable as error:  # caught mid-rewrite: keep serving the old one, look again next time
            log.log(logging.WARNING if self._reports else logging.DEBUG, "%s; keeping the current certificate",
                    error, extra=event("tls_not_reloaded", error=str(error)))
            return None
        self._watched.seen = now
        log.log(logging.INFO if self._reports else logging.DEBUG,
                "TLS certificate files changed: new connections use them", extra=event("tls_reloaded"))
        return configuration


def server_credentials(files: TlsFiles, *, reports: bool = True) -> grpc.ServerCredentials:
    """Credentials reading `files` again when they change; `reports` False says so at debug level (a server's
    other workers, whose worker 0 says it)."""
    certificates = _Certificates(files, reports)
    return grpc.dynamic_ssl_server_credentials(
        certificates.initial, certificates.fetch, require_client_authentication=files.client_ca is not None
    )

