"""A real OpenLDAP server for the directory tests: Debian's slapd on 127.0.0.1, configured and seeded
here, never the system's own.

`Slapd(folder)` writes a slapd.conf into `folder` (back-mdb under the suffix
dc=test; the schemas core, cosine, inetorgperson and nis; the ppolicy
module and overlay, whose schema, built into the module since OpenLDAP 2.5,
holds pwdAccountLockedTime) and runs `slapd -f` in the foreground on a free
port for ldap:// and, given certificates, another for ldaps://. `start()`
waits until the server answers a bind; when it does not, the error holds
what slapd printed (its log, `slapd.log` in the folder). `stop()` ends it.

Who may do what, as in a real directory:

- `cn=admin,dc=test` is the rootdn: it seeds the trees (`ldapmodify -a`,
  Debian's ldap-utils). pwdAccountLockedTime, operational but not
  NO-USER-MODIFICATION in 2.5's ppolicy, is written by it like any other
  attribute, so no relax control is needed to lock an account.
- `cn=reader,dc=test` (READER_DN, READER_PASSWORD), the service account a
  `directory:` block binds as, reads everything; `cn=limited,dc=test` reads
  with a size limit of LIMITED_SIZE entries (a `limits` clause), to show a
  read cut short.
- An anonymous client reads only the subtree `ou=open,dc=test`.
- objectClass is indexed, as in every packaged configuration: without it,
  slapd answers the reader's OR of entryDN by testing every entry.

Each test gets a tree of its own, `ou=<test>-<n>,dc=test` with ou=people
and ou=groups below it (`Slapd.tree()`, or the `ldap_tree` fixture), so the
session's one server serves every test. `make_certificates` makes a CA, a
server certificate it signs (for 127.0.0.1 and localhost) and an unrelated
CA, with the openssl command.

Without slapd, ldap-utils or openssl the tests that need them skip, and
fail when CI is set (tests/required.py); `.ci/run` installs Debian's
slapd and ldap-utils.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from processes import end
from required import require

from reconciler.core.model import DEFAULT_ATTRIBUTES, Directory, Flavour

SLAPD = Path(os.environ.get("RECONCILER_SLAPD", "/usr/sbin/slapd"))
SCHEMAS = Path("/etc/ldap/schema")
MODULES = Path("/usr/lib/ldap")
SUFFIX = "dc=test"
ADMIN_DN = f"cn=admin,{SUFFIX}"
ADMIN_PASSWORD = "admin-password"
READER_DN = f"cn=reader,{SUFFIX}"
READER_PASSWORD = "reader-password-7f3a"
LIMITED_DN = f"cn=limited,{SUFFIX}"
LIMITED_PASSWORD = "limited-password"
LIMITED_SIZE = 10
#: The subtree an anonymous client may read.
OPEN = f"ou=open,{SUFFIX}"
#: How long slapd has to answer its first bind.
START_TIMEOUT = 20.0

CONFIG = """\
include {schemas}/core.schema
include {schemas}/cosine.schema
include {schemas}/inetorgperson.schema
include {schemas}/nis.schema
modulepath {modules}
moduleload back_mdb
moduleload ppolicy
pidfile {folder}/slapd.pid
argsfile {folder}/slapd.args
sizelimit unlimited
{tls}
database mdb
suffix "{suffix}"
rootdn "{admin}"
rootpw {admin_password}
directory {folder}/db
maxsize 1073741824
dbnosync
index objectClass eq
overlay ppolicy
limits dn.exact="{limited}" size={limited_size}
access to attrs=userPassword
    by anonymous auth
    by * none
access to dn.subtree="{open}"
    by * read
access to *
    by users read
    by * none
"""

SEED = f"""\
dn: {SUFFIX}
objectClass: dcObject
objectClass: organization
o: reconciler tests
dc: test

dn: {OPEN}
objectClass: organizationalUnit
ou: open

dn: {READER_DN}
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: reader
userPassword: {READER_PASSWORD}

dn: {LIMITED_DN}
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: limited
userPassword: {LIMITED_PASSWORD}
"""


def slapd_problem() -> str:
    """Why slapd cannot run here, or "" when it can."""
    if not SLAPD.is_file():
        return f"slapd is not installed ({SLAPD} is missing)"
    for path in (SCHEMAS / "core.schema", MODULES / "back_mdb.so", MODULES / "ppolicy.so"):
        if not path.exists():
            return f"slapd's {path} is missing"
    for tool in ("ldapmodify", "openssl"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return ""


def require_slapd() -> None:
    """Skip (on a laptop) or fail (when CI is set) unless slapd, ldap-utils and openssl are here."""
    require(
        slapd_problem(),
        "the directory tests",
        "install Debian's slapd and ldap-utils (apt-get install slapd ldap-utils)",
    )


@dataclass(frozen=True)
class Certificates:
    """PEM files: a CA, the server's certificate it signed (with its key), and a CA that signed nothing."""

    ca: Path
    server: Path
    server_key: Path
    other_ca: Path


def make_certificates(folder: Path, names: str = "IP:127.0.0.1, DNS:localhost") -> Certificates:
    """A CA and a server certificate for `names` (a subjectAltName), and an unrelated CA (openssl,
    P-256)."""
    folder.mkdir(parents=True, exist_ok=True)

    def openssl(*arguments: str) -> None:
        subprocess.run(["openssl", *arguments], cwd=folder, check=True, capture_output=True)

    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ca_extensions = [
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]
    for name in ("ca", "other-ca"):
        openssl("req", "-x509", *key, "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2",
                "-subj", f"/CN=reconciler test {name}", *ca_extensions)  # fmt: skip
    openssl("req", *key, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=reconciler test server")
    (folder / "server.ext").write_text(
        f"subjectAltName = {names}\n"
        "basicConstraints = critical, CA:FALSE\n"
        "keyUsage = critical, digitalSignature\n"
        "extendedKeyUsage = serverAuth\n"
        "subjectKeyIdentifier = hash\n"
        "authorityKeyIdentifier = keyid:always\n"
    )
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "2", "-extfile", "server.ext")  # fmt: skip
    return Certificates(
        folder / "ca.pem", folder / "server.pem", folder / "server.key", folder / "other-ca.pem"
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Slapd:
    """slapd on 127.0.0.1, its configuration, database and log in `folder`; `start()`, then `stop()`."""

    folder: Path
    certificates: Certificates | None = None
    port: int = 0
    ldaps_port: int = 0
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _trees: Iterator[int] = field(default_factory=itertools.count, repr=False)

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://127.0.0.1:{self.ldaps_port}"

    @property
    def log_file(self) -> Path:
        return self.folder / "slapd.log"

    def log(self) -> str:
        """What slapd printed: its errors (it runs with `-d none`)."""
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def start(self) -> None:
        """Configure, start and seed the server; a port taken meanwhile is retried on another."""
        (self.folder / "db").mkdir(parents=True, exist_ok=True)
        for _attempt in range(3):
            self.port = _free_port()
            self.ldaps_port = _free_port() if self.certificates else 0
            self._write_config()
            listen = self.url + "/" + (f" {self.ldaps_url}/" if self.certificates else "")
            with self.log_file.open("wb") as log:
                self._process = subprocess.Popen(
                    # -d keeps slapd in the foreground; "none" prints its errors and no traffic.
                    [str(SLAPD), "-f", str(self.folder / "slapd.conf"), "-h", listen, "-d", "none"],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            if self._wait_until_answering():
                self.modify(SEED)
                return
            if "Address already in use" not in self.log():
                break
        log_text = self.log()
        self.stop()
        raise RuntimeError(f"slapd did not start on {self.url}; it said:\n{log_text}")

    def _write_config(self) -> None:
        tls = ""
        if self.certificates is not None:
            tls = (
                f"TLSCACertificateFile {self.certificates.ca}\n"
                f"TLSCertificateFile {self.certificates.server}\n"
                f"TLSCertificateKeyFile {self.certificates.server_key}"
            )
        (self.folder / "slapd.conf").write_text(
            CONFIG.format(
                schemas=SCHEMAS,
                modules=MODULES,
                folder=self.folder,
                tls=tls,
                suffix=SUFFIX,
                admin=ADMIN_DN,
                admin_password=ADMIN_PASSWORD,
                limited=LIMITED_DN,
                limited_size=LIMITED_SIZE,
                open=OPEN,
            )
        )

    def _wait_until_answering(self) -> bool:
        assert self._process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False
            whoami = subprocess.run(
                [
                    "ldapwhoami",
                    "-x",
                    "-H",
                    self.url,
                    "-D",
                    ADMIN_DN,
                    "-w",
                    ADMIN_PASSWORD,
                    "-o",
                    "nettimeout=1",
                ],
                capture_output=True,
                check=False,
            )
            if whoami.returncode == 0:
                return True
            time.sleep(0.05)
        return False

    def cpu_seconds(self) -> float | None:
        """The CPU time slapd has used so far (Linux's /proc), or None where that cannot be read."""
        if self._process is None:
            return None
        try:
            fields = Path(f"/proc/{self._process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def stop(self) -> None:
        """End slapd (SIGTERM, then SIGKILL after 5 s)."""
        if self._process is not None:
            end(self._process)
            self._process = None

    def kill(self) -> None:
        """End slapd at once (SIGKILL), as a server that dies mid-read."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def modify(self, ldif: str) -> None:
        """Apply LDIF as the rootdn: records without a changetype are added (ldapmodify -a)."""
        done = subprocess.run(
            ["ldapmodify", "-a", "-x", "-H", self.url, "-D", ADMIN_DN, "-w", ADMIN_PASSWORD],
            input=ldif.encode(),
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"ldapmodify failed ({done.returncode}): {done.stderr.decode(errors='replace')}"
            )

    def tree(self, name: str, under: str = SUFFIX) -> Tree:
        """A new, empty tree `ou=<name>-<n>,<under>` with ou=people and ou=groups below it."""
        label = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "tree"
        tree = Tree(self, f"ou={label}-{next(self._trees)},{under}")
        self.modify(
            f"dn: {tree.base_dn}\nobjectClass: organizationalUnit\nou: {tree.base_dn[3:].split(',')[0]}\n\n"
            f"dn: ou=people,{tree.base_dn}\nobjectClass: organizationalUnit\nou: people\n\n"
            f"dn: ou=groups,{tree.base_dn}\nobjectClass: organizationalUnit\nou: groups\n"
        )
        return tree


@dataclass(frozen=True)
class Tree:
    """One test's subtree of the server, and LDIF for the people and groups in it."""

    server: Slapd
    base_dn: str

    def person_dn(self, uid: str) -> str:
        return f"uid={uid},ou=people,{self.base_dn}"

    def group_dn(self, cn: str) -> str:
        return f"cn={cn},ou=groups,{self.base_dn}"

    def directory(self, **changes: object) -> Directory:
        """A `directory:` block that reads this tree over ldap:// as the reader, as `changes` say."""
        fields: dict[str, object] = {
            "url": self.server.url,
            "base_dn": self.base_dn,
            "flavour": Flavour.OPENLDAP,
            "output": "people/directory.yaml",
            "attributes": DEFAULT_ATTRIBUTES[Flavour.OPENLDAP],
            "bind_dn": READER_DN,
            "timeout": 10.0,
        }
        fields.update(changes)
        return Directory(**fields)  # type: ignore[arg-type]

    def add(self, ldif: str) -> None:
        self.server.modify(ldif)

    def add_people(self, people: Iterable[str]) -> None:
        """Add the LDIF of many people (person_ldif's) at once."""
        self.add("\n".join(people))

    def person(
        self,
        uid: str,
        *,
        mail: str | None = "",
        given_name: str | None = "",
        sn: str = "",
        locked: bool = False,
        extra: Sequence[str] = (),
    ) -> str:
        """The LDIF of an inetOrgPerson; "" gives the default (from uid), None leaves the attribute out
        (sn, which inetOrgPerson requires, is always there)."""
        lines = [f"dn: {self.person_dn(uid)}", "objectClass: inetOrgPerson", f"uid: {uid}", f"cn: {uid}"]
        lines.append(f"sn: {sn or uid.title() + 'son'}")
        lines.append(f"givenName: {given_name or uid.title()}" if given_name is not None else "")
        lines.append(f"mail: {mail or uid + '@acme.example'}" if mail is not None else "")
        if locked:
            lines.append("pwdAccountLockedTime: 000001010000Z")  # ppolicy's "locked until an admin unlocks"
        lines.extend(extra)
        return "\n".join(line for line in lines if line) + "\n"

    def group(self, cn: str, members: Iterable[str]) -> str:
        """The LDIF of a groupOfNames with `members` (DNs); it needs one at least."""
        return "\n".join([f"dn: {self.group_dn(cn)}", "objectClass: groupOfNames", f"cn: {cn}"] + [
            f"member: {member}" for member in members
        ]) + "\n"  # fmt: skip


@pytest.fixture(scope="session")
def slapd_certificates() -> Iterator[Certificates]:
    """The session's CA, server certificate and unrelated CA."""
    require_slapd()
    with tempfile.TemporaryDirectory(prefix="reconciler-tls-") as name:
        yield make_certificates(Path(name))


@pytest.fixture(scope="session")
def slapd(slapd_certificates: Certificates) -> Iterator[Slapd]:
    """The session's slapd, on ldap:// and ldaps://; tests take `ldap_tree` for a tree of their own."""
    with tempfile.TemporaryDirectory(prefix="reconciler-slapd-") as name:
        server = Slapd(Path(name), slapd_certificates)
        server.start()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture
def ldap_tree(slapd: Slapd, request: pytest.FixtureRequest) -> Tree:
    """An empty tree of the test's own on the session's slapd."""
    return slapd.tree(request.node.name)
