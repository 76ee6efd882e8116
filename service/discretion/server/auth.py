"""Tenants: who is calling, and which groups and agreements they may ask about.

Each platform calling Discretion is a tenant, named in a YAML file
(`discretion serve --tenants FILE`):

    admin:                       # GetPolicyStatus; no tenant credential opens it
      tokens: [<sha256 hex>]
      certificates: [ops.example.org]
    tenants:
      - id: forum
        tokens: [<sha256 hex>]   # `discretion hash-token` prints one
        certificates: [forum.example.org]
        groups: [g-forum-*]      # exact ids; a trailing `*` owns every id with that prefix; one tenant each
        agreements: [chatham-house, tlp]   # required: what it may adopt and list; '*': every agreement

A caller proves who it is with `authorization: Bearer <token>` metadata (the
token's SHA-256 compared in constant time with every stored one) or, on a
mutual-TLS port, with its client certificate: its DNS subject alternative
names, or its subject common name when it has no subject alternative name at
all, matched without case against the names under `certificates`. A URI,
e-mail or IP name is never read as a caller's name, and a certificate whose
names match two callers (or that has two common names) names nobody: it is
refused, and the log says why. A token, when sent, is the credential: a
wrong one is refused even over a trusted certificate.

A tenant decides under, and lists, only the agreements it is given, the
platform-wide ones and those its own groups are bound to (with the
agreements whose labels these read): any other is as if it were not loaded
(`CompiledPolicy.restricted`), so an adoption of it is refused in the words
an unknown agreement gets and no answer quotes its reasons.

Refusals say as little as they can: a missing or wrong credential is
UNAUTHENTICATED; a group the caller does not own is PERMISSION_DENIED with
the same words whether or not anybody owns it, so no answer tells a tenant
which groups exist. Without a tenants file every caller may do everything
(one platform behind a private network: the behaviour before tenants).

The file is read again when it changes (looked at every second and on
SIGHUP), so a token is rotated or a tenant added without a restart; a file
that no longer reads leaves the last good tenants in force, and says why.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import pathlib
import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping

import grpc
from cryptography import x509

from ..engine.compiled import CompiledPolicy
from ..errors import DiscretionError
from ..events import event
from ..source import parse
from ..store.watch import Watched

__all__ = ["Caller", "Gate", "PermissionDenied", "Tenant", "Tenants", "TenantsFile", "TenantsInvalid",
           "Unauthenticated", "hash_token", "load_tenants"]

log = logging.getLogger("discretion.server")

_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")
_BEARER = "bearer "
# The auth context gRPC fills from a verified client certificate: every
# subject alternative name, the DNS ones alone, the (first) common name and
# the subject as RFC 2253 text.
_PEM = "x509_pem_cert"  # the client certificate gRPC verified, in the auth context
_READ: dict[bytes, tuple[tuple[str, ...], str]] = {}  # certificates read, by their PEM
_READ_KEPT = 1024
# An ASCII host name: dot-separated labels of letters, digits and inner
# hyphens, 63 at most each, 253 in all, an optional final dot.
_HOST_NAME = re.compile(r"(?=.{1,253}\.?\Z)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
                        r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?\Z", re.ASCII)
_TOLD_KEPT = 1024  # ambiguous certificates logged; past this, no more lines
_VIEWS_KEPT = 256  # tenants' views per policy; more tenants than this only rebuild theirs more often


class TenantsInvalid(DiscretionError):
    """The tenants file cannot be read or does not say what it must."""


class Unauthenticated(DiscretionError):
    """No credential, or one that names nobody."""


class PermissionDenied(DiscretionError):
    """A known caller asked for something it does not own."""


def hash_token(token: str) -> str:
    """The form a token is stored in: its SHA-256, in lowercase hex."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Tenant:
    id: str
    token_hashes: tuple[str, ...] = ()
    certificates: tuple[str, ...] = ()  # DNS names (`certificate_name`): DNS SANs, or the CN of a certificate without SANs
    groups: tuple[str, ...] = ()  # exact ids, or prefixes ending in `*`
    agreements: tuple[str, ...] | None = None  # None: every agreement (`'*'`)

    def owns(self, group_id: str) -> bool:
        return any(group_id.startswith(g[:-1]) if g.endswith("*") else group_id == g for g in self.groups)

    def view(self, policy: CompiledPolicy) -> CompiledPolicy:
        """The policy as this tenant may use it: its agreements, the platform-wide ones and its groups' bindings.

        Kept on the policy, one per tenant's terms, so a reload starts afresh.
        """
        if self.agreements is None:
            return policy
        key = (self.agreements, self.groups)
        view = policy.views.get(key)
        if view is None:
            if len(policy.views) >= _VIEWS_KEPT:
                policy.views.clear()
            view = policy.views[key] = policy.restricted(self.agreements, self.owns)
        return view


@dataclass(frozen=True, slots=True)
class Tenants:
    tenants: tuple[Tenant, ...]
    admin: Tenant  # only its credentials are used
    # certificate name -> its caller (a name is given to one caller at most)
    by_certificate: Mapping[str, Tenant] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Caller:
    tenant: Tenant | None  # None: the admin credential, or nobody needed one
    admin: bool


# ---- the file ----------------------------------------------------------------------------


def load_tenants(path: pathlib.Path | str) -> Tenants:
    try:
        text = pathlib.Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise TenantsInvalid(f"cannot read the tenants file `{path}`: {error}") from error
    # Read as strictly as a rule file: PyYAML alone keeps the last of two
    # `agreements:` keys, so an appended `agreements: '*'` would widen a tenant.
    source, problems = parse(text, str(path))
    if problems:
        raise TenantsInvalid(f"the tenants file does not read: {problems[0].render()}")
    if source.hidden:
        # Ids, groups and agreements named here reach the log and the operator's
        # terminal: the same characters a rule file may not hold are refused.
        line, column = source.position(source.hidden[0])
        raise TenantsInvalid(f"`{path}`:{line}:{column}: the text holds a control or invisible character")
    data = source.data
    if not isinstance(data, dict) or not isinstance(data.get("tenants"), list):
        raise TenantsInvalid(f"`{path}`: expected a mapping with a `tenants` list")
    unknown = set(data) - {"admin", "tenants"}
    if unknown:
        raise TenantsInvalid(f"`{path}`: unknown keys {sorted(map(str, unknown))}")
    if not isinstance(data.get("admin") or {}, dict):
        raise TenantsInvalid(f"`{path}`: admin: expected a mapping")
    tenants = tuple(_tenant(entry, f"{path}: tenants[{i}]") for i, entry in enumerate(data["tenants"]))
    ids = [t.id for t in tenants]
    if len(set(ids)) != len(ids):
        raise TenantsInvalid(f"`{path}`: tenant ids must be unique")
    for one, other, group in _shared_groups(tenants):
        raise TenantsInvalid(f"`{path}`: tenants `{one}` and `{other}` both own `{group}`; a group belongs to "
                             "one tenant, which alone asks about it and uses its binding")
    admin = _tenant({"id": "admin", **(data.get("admin") or {})}, f"{path}: admin", admin=True)
    everyone = (*tenants, admin)
    for kind in ("token_hashes", "certificates"):
        seen = [value for t in everyone for value in getattr(t, kind)]
        if len(set(seen)) != len(seen):
            raise TenantsInvalid(f"`{path}`: a credential is given to two callers ({kind})")
    return Tenants(tenants, admin, {name: caller for caller in everyone for name in caller.certificates})


def _shared_groups(tenants: tuple[Tenant, ...]) -> list[tuple[str, str, str]]:
    """(tenant, tenant, pattern) for groups two tenants both own: `g-a-*` and `g-a-b*` or `g-a-1`.

    Sorted, every pattern a prefix pattern covers follows it directly, so one
    pass finds them all without comparing every pair of tenants.
    """
    patterns = sorted((g.removesuffix("*"), g.endswith("*"), t.id) for t in tenants for g in t.groups)
    shared = []
    for index, (stem, prefix, owner) in enumerate(patterns):
        for other, other_prefix, other_owner in patterns[index + 1:]:
            if not other.startswith(stem) or (not prefix and other != stem):
                break
            if other_owner != owner and (prefix or other_prefix or other == stem):
                shared.append((owner, other_owner, stem + "*" if prefix else stem))
    return shared


class TenantsFile:
    """The tenants file and the tenants last read from it; `refresh()` reads it again if it changed."""

    def __init__(self, path: pathlib.Path | str):
        self.path = pathlib.Path(path)
        self._file = Watched([self.path])
        self.current = load_tenants(self.path)  # raises TenantsInvalid: a server does not start on a bad file
        # False in a supervisor's workers: the supervisor says what every worker reads alike, they say it at debug.
        self.reports = True
        self._warn_of_open_tenants()

    def refresh(self) -> bool:
        """Read the file again if it changed since last time; whether new tenants are in force."""
        # A change is remembered even if the file fails: one error per change, not one per look.
        if not self._file.changed():
            return False
        try:
            self.current = load_tenants(self.path)
        except Exception as error:  # noqa: BLE001 - whatever a half-written file does, the last good tenants stay
            log.log(logging.ERROR if self.reports else logging.DEBUG,
                    "tenants not reloaded, the last good ones stay in force: %s", error,
                    extra=event("tenants_not_reloaded", file=str(self.path), error=str(error)))
            return False
        log.log(logging.INFO if self.reports else logging.DEBUG, "tenants reloaded from %s: %d tenants", self.path,
                len(self.current.tenants),
                extra=event("tenants_reloaded", file=str(self.path), tenants=len(self.current.tenants)))
        self._warn_of_open_tenants()
        return True

    def _warn_of_open_tenants(self) -> None:
        """Legal, and sometimes meant; but a private agreement listed for one tenant is then adoptable by
        the tenants with `agreements: '*'`, which is rarely what was meant."""
        tenants = self.current.tenants
        open_ = [t.id for t in tenants if t.agreements is None]
        if open_ and len(open_) < len(tenants):
            log.log(logging.WARNING if self.reports else logging.DEBUG,
                    "tenants %s may adopt every loaded agreement (`agreements: '*'`), including those "
                    "listed for other tenants", ", ".join(f"`{i}`" for i in open_),
                    extra=event("tenants_open_to_every_agreement", tenants=open_))


def _tenant(entry: object, where: str, admin: bool = False) -> Tenant:
    if not isinstance(entry, dict):
        raise TenantsInvalid(f"{where}: expected a mapping")
    allowed = {"id", "tokens", "certificates"} | (set() if admin else {"groups", "agreements"})
    if set(entry) - allowed:
        raise TenantsInvalid(f"{where}: unknown keys {sorted(map(str, set(entry) - allowed))}")
    if not isinstance(entry.get("id"), str) or not entry["id"]:
        raise TenantsInvalid(f"{where}: `id` is required")
    hashes = tuple(h.removeprefix("sha256:").lower() for h in _strings(entry, "tokens", where))
    for value in hashes:
        if not _HEX_DIGEST.fullmatch(value):
            raise TenantsInvalid(f"{where}: tokens are stored as SHA-256 hex digests (`discretion hash-token`), "
                                 "never in clear")
    given = _strings(entry, "certificates", where)
    certificates = tuple(certificate_name(name) for name in given)
    for name, read in zip(given, certificates):
        if not read:
            raise TenantsInvalid(f"{where}: the certificate name `{name}` is not one DNS host name (ASCII letters, "
                                 "digits, hyphens and dots, no wildcard: a wildcard names many callers)")
    agreements = entry.get("agreements")
    if not admin and agreements is None:
        # Never read as "every agreement": a key missing or left without a
        # value is as likely a file cut short mid-write (it is reloaded every
        # second) or an entry commented out as a wish to open everything.
        raise TenantsInvalid(f"{where}: `agreements` is required: the agreements the tenant may adopt, [] for "
                             "none but the platform-wide ones and its bindings, or '*' for every one")
    return Tenant(
        id=entry["id"],
        token_hashes=hashes,
        certificates=certificates,
        groups=_strings(entry, "groups", where),
        agreements=None if agreements is None or agreements == "*" else _strings(entry, "agreements", where),
    )


def _strings(entry: dict, key: str, where: str) -> tuple[str, ...]:
    values = entry.get(key) or []
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise TenantsInvalid(f"{where}: `{key}` must be a list of non-empty strings")
    return tuple(values)


# ---- the checks --------------------------------------------------------------------------


class Gate:
    """The checks a servicer method calls first; with no tenants file, every caller passes."""

    def __init__(self, tenants: TenantsFile | None):
        self._file = tenants
        self._told: set[tuple[str, ...]] = set()  # certificates refused and logged already

    @property
    def _tenants(self) -> Tenants | None:
        # Read once per check: a reload swaps `current` whole, never half of it.
        return None if self._file is None else self._file.current

    def identify(self, context: grpc.ServicerContext) -> Caller | None:
        """Who is calling, from the metadata and the certificate alone: checked before a byte of the request is read.

        None without a tenants file (every caller may ask everything);
        raises Unauthenticated when the credential names nobody.
        """
        tenants = self._tenants
        if tenants is None:
            return None
        everyone = (*tenants.tenants, tenants.admin)
        token = _bearer(context)
        if token is not None:
            found = _by_token(everyone, hash_token(token))
        else:
            found = self._by_certificate(tenants, context)
        if found is None:
            raise Unauthenticated("missing or invalid credentials")
        if found is tenants.admin:
            return Caller(None, admin=True)
        return Caller(found, admin=False)

    @staticmethod
    def evaluate(caller: Caller | None, group_ids: Iterable[str]) -> Tenant | None:
        """The tenant asking, if it owns every group named (empty ids are left to validation); None without tenants."""
        if caller is None:
            return None
        if caller.tenant is None or not all(caller.tenant.owns(g) for g in group_ids if g):
            raise PermissionDenied("not permitted for this group")
        return caller.tenant

    @staticmethod
    def agreements(caller: Caller | None) -> Tenant | None:
        """The tenant whose agreements the caller may list; None when there are no tenants."""
        if caller is None:
            return None
        if caller.tenant is None:
            raise PermissionDenied("not permitted: a tenant credential lists agreements")
        return caller.tenant

    @staticmethod
    def admin(caller: Caller | None) -> None:
        if caller is not None and not caller.admin:
            raise PermissionDenied("not permitted: needs the admin credential")

    def _by_certificate(self, tenants: Tenants, context: grpc.ServicerContext) -> Tenant | None:
        names, ambiguous = _certificate_names(context)
        if not ambiguous:
            found = list(dict.fromkeys(tenants.by_certificate[n] for n in names if n in tenants.by_certificate))
            if len(found) <= 1:
                return found[0] if found else None
            ambiguous = (f"the certificate naming {', '.join(f'`{n}`' for n in names)} names "
                         f"{', '.join(f'`{t.id}`' for t in found)}")
        # Which caller was meant cannot be known: none is. Logged once per
        # certificate's names (a client retrying would repeat it every call).
        key = names or (ambiguous,)
        if key not in self._told and len(self._told) < _TOLD_KEPT:
            self._told.add(key)
            log.warning("a client certificate was refused: %s; a certificate must name one caller", ambiguous,
                        extra=event("client_certificate_refused", reason=ambiguous))
        return None


def _bearer(context: grpc.ServicerContext) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key == "authorization" and isinstance(value, str):
            if value[: len(_BEARER)].lower() != _BEARER:
                return ""  # a credential we cannot read matches nobody
            return value[len(_BEARER):].strip()
    return None


def _by_token(everyone: tuple[Tenant, ...], digest: str) -> Tenant | None:
    # Every stored digest is compared, in constant time each, so neither the
    # time taken nor an early exit tells which tenant (if any) came close.
    found = None
    for tenant in everyone:
        for stored in tenant.token_hashes:
            if hmac.compare_digest(stored, digest):
                found = tenant
    return found


def _certificate_names(context: grpc.ServicerContext) -> tuple[tuple[str, ...], str]:
    """The names a client certificate gives its holder, and why it gives none when it is ambiguous.

    gRPC fills the auth context only from a client certificate it verified
    against the client CA (`--tls-client-ca`); a plaintext or one-way TLS
    caller has none. The certificate itself is read, not gRPC's summary of
    it: that summary cuts a name at a NUL byte (`b.example.org\\0.evil`
    would read as `b.example.org`) and keeps only the first common name.
    """
    pem = b"".join((context.auth_context() or {}).get(_PEM, ()))
    if not pem:
        return (), ""
    read = _READ.get(pem)
    if read is None:
        if len(_READ) >= _READ_KEPT:
            _READ.clear()
        read = _READ[pem] = _names_in(pem)
    return read


def _names_in(pem: bytes) -> tuple[tuple[str, ...], str]:
    """As RFC 6125 reads a server's name: the DNS subject alternative names, the common name only without any SAN.

    A name that is not an ASCII host name names nobody; it is never folded
    into one (a KELVIN SIGN is not a `k`, a trailing blank is not nothing).
    """
    try:
        certificate = x509.load_pem_x509_certificate(pem)
        try:
            alternatives = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            alternatives = None
        if alternatives is not None:
            found = alternatives.get_values_for_type(x509.DNSName)
        else:
            found = [a.value for a in certificate.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)]
            if len(found) > 1:
                return (), (f"the certificate `{certificate.subject.rfc4514_string()}` has {len(found)} common "
                            "names and no subject alternative name")
    # gRPC verified it, yet it does not read (a duplicate extension, a name of
    # a type cryptography does not know): it names nobody, and says why.
    except Exception as error:  # noqa: BLE001
        return (), f"the certificate could not be read: {error}"
    names = {certificate_name(n) for n in found if isinstance(n, str)}
    return tuple(sorted(names - {""})), ""


def certificate_name(name: str) -> str:
    """A DNS host name as compared (ASCII letters without case, no trailing dot); "" for anything else."""
    if not _HOST_NAME.fullmatch(name):
        return ""
    return name.removesuffix(".").lower()
