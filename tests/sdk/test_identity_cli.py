"""The real `openstack` CLI (python-openstackclient 10.5.0) against a Neutrino
all-in-one with keystone auth and the built-in identity (Keystone v3 subset).

One `neutrino all-in-one` serves this module (its own state directory,
ephemeral API and identity ports, `auth_strategy` left at its default,
keystone). The admin's credentials come from the `openrc` file the first start
writes; every CLI call gets an environment built from that file (parsed, not
sourced) with a clean HOME and no clouds.yaml, so osc authenticates against the
built-in identity and finds the network endpoint in the token's catalog.

A few checks go straight to the HTTP APIs with urllib where the CLI cannot
express them (bad tokens, unscoped tokens, revocation seen by the Neutron API).

Each test creates the projects, users and networks it needs (unique names) and
can run alone; test_catalog_seed_steps_recreate_the_network_service puts the
network endpoints back in a ``finally`` block whatever happens.

osc 10.5.0 notes (verified against this server):

* `openstack quota set/show` need no `--network` when the catalog holds only
  identity and network: osc skips compute and volume when they have no
  endpoint. `quota set` always adds ``check_limit: true`` (or ``force: true``
  with --force) to the network PUT body, as Neutron's quotasv2 expects.
* `openstack port create --network X` resolves X client-side, so a network the
  caller cannot see fails with "No Network found for X" before any POST; the
  POST itself is checked with urllib.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from conftest import _ANSI, _binary, _stop, _wait_healthy, log_tail

OPENSTACK = Path(sys.executable).parent / "openstack"
CLI_TIMEOUT = 60  # seconds, per CLI call
HTTP_TIMEOUT = 30

AIO_CONF = """\
[DEFAULT]
allow_overlapping_ips = True

[ml2]
type_drivers = local,flat,vlan,vxlan,gre
tenant_network_types = vxlan

[ml2_type_vxlan]
vni_ranges = 1:65535
"""

UNAUTHENTICATED = "The request you have made requires authentication."

_IDENTITY_LINE = re.compile(r"identity listening on (http://\S+?/v3)\b")
_API_LINE = re.compile(r"API listening on (http://\S+?)/v2\.0\b")
_BOOTSTRAP_LINE = re.compile(r"Bootstrapped the built-in identity: .* credentials are in (\S+)")

# No proxy may sit between the tests and 127.0.0.1.
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def uniq(prefix: str) -> str:
    return f"idcli-{prefix}-{uuid.uuid4().hex[:10]}"


# --------------------------------------------------------------------------
# The server


@dataclass
class AllInOne:
    proc: subprocess.Popen
    root: str  # API root, e.g. http://127.0.0.1:45975 (what the catalog holds)
    identity: str  # e.g. http://127.0.0.1:36791/v3
    state_dir: Path
    stdout_path: Path
    stderr_path: Path
    openrc: dict[str, str]
    notes: list = field(default_factory=list)

    @property
    def api(self) -> str:
        return self.root + "/v2.0"

    @property
    def identity_root(self) -> str:
        return self.identity[: -len("/v3")]

    def log_tail(self, lines: int = 200) -> str:
        return log_tail(self.stderr_path, lines)


def _read_listeners(stdout_path: Path, proc: subprocess.Popen, deadline: float):
    """Waits until stdout (a file) holds both 'listening on' lines; returns
    (identity_url, api_root, openrc_path_or_None, stdout_text)."""
    text = ""
    while time.monotonic() < deadline:
        text = stdout_path.read_text(errors="replace")
        ident, api = _IDENTITY_LINE.search(text), _API_LINE.search(text)
        if ident and api:
            boot = _BOOTSTRAP_LINE.search(text)
            return ident.group(1), api.group(1), boot.group(1) if boot else None, text
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    return None, None, None, text


def parse_openrc(path: Path) -> dict[str, str]:
    """`export NAME=VALUE` lines (VALUE possibly shell-quoted) -> dict."""
    env = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        words = shlex.split(line)
        if words and words[0] == "export":
            words = words[1:]
        for word in words:
            name, sep, value = word.partition("=")
            if sep:
                env[name] = value
    return env


class _ServerLogOnFailure:
    """A pytest plugin registered by the fixture: prints this module's server
    log when one of its tests failed (conftest does the same for the noauth
    server)."""

    def __init__(self, server: AllInOne):
        self.server = server

    def pytest_terminal_summary(self, terminalreporter):
        reports = (terminalreporter.stats.get("failed", [])
                   + terminalreporter.stats.get("error", []))
        mine = [r for r in reports if "test_identity_cli.py" in getattr(r, "nodeid", "")]
        if self.server.notes:
            terminalreporter.section("neutrino (keystone) shutdown", sep="-")
            for note in self.server.notes:
                terminalreporter.write_line(note)
        if mine or self.server.notes:
            terminalreporter.section(
                "neutrino all-in-one with keystone auth: stderr (last 200 lines)", sep="-")
            terminalreporter.write_line(self.server.log_tail())


@pytest.fixture(scope="module")
def aio(tmp_path_factory, request) -> AllInOne:
    """`neutrino all-in-one` with keystone auth and the built-in identity."""
    assert OPENSTACK.exists(), f"no openstack CLI at {OPENSTACK}: run scripts/setup-python.sh"
    binary = _binary()
    base = tmp_path_factory.mktemp("neutrino-keystone")
    conf = base / "neutron.conf"
    conf.write_text(AIO_CONF)
    state = base / "state"
    stdout_path, stderr_path = base / "neutrino.stdout.log", base / "neutrino.stderr.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.setdefault("NO_COLOR", "1")
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        proc = subprocess.Popen(
            [str(binary), "all-in-one", "--config-file", str(conf), "--state-dir", str(state),
             "--bind-host", "127.0.0.1", "--bind-port", "0", "--identity-bind-port", "0"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env,
        )
    deadline = time.monotonic() + 30
    identity, root, openrc_path, text = _read_listeners(stdout_path, proc, deadline)
    if not (identity and root and _wait_healthy(root, proc, deadline)):
        note = _stop(proc)
        pytest.fail(
            f"neutrino all-in-one (keystone) did not come up ({note or 'stopped'});\n"
            f"stdout:\n{text}\nstderr:\n{_ANSI.sub('', stderr_path.read_text(errors='replace'))}",
            pytrace=False)
    server = AllInOne(proc, root, identity, state, stdout_path, stderr_path, {})
    request.config.pluginmanager.register(_ServerLogOnFailure(server))
    try:
        assert openrc_path is not None, f"no 'Bootstrapped the built-in identity' line in:\n{text}"
        assert "(auth_strategy=keystone)" in text, text
        assert Path(openrc_path) == state / "openrc"
        assert Path(openrc_path).stat().st_mode & 0o077 == 0, "openrc is readable by others"
        server.openrc = parse_openrc(Path(openrc_path))
        assert server.openrc["OS_AUTH_URL"] == identity
        assert server.openrc["OS_PASSWORD"]
        for name, value in (("OS_USERNAME", "admin"), ("OS_PROJECT_NAME", "admin"),
                            ("OS_USER_DOMAIN_NAME", "Default"),
                            ("OS_PROJECT_DOMAIN_NAME", "Default"),
                            ("OS_IDENTITY_API_VERSION", "3"), ("OS_REGION_NAME", "RegionOne")):
            assert server.openrc.get(name) == value, (name, server.openrc)
        yield server
    finally:
        note = _stop(proc)
        if note:
            server.notes.append(note)
        shutil.rmtree(state, ignore_errors=True)


# --------------------------------------------------------------------------
# The CLI


class Cli:
    """Runs `openstack` with a fixed environment (credentials included)."""

    def __init__(self, env: dict[str, str], label: str):
        self.env = env
        self.label = label

    def as_user(self, user: str, password: str, project: str | None) -> "Cli":
        env = dict(self.env)
        env["OS_USERNAME"] = user
        env["OS_PASSWORD"] = password
        env["OS_USER_DOMAIN_NAME"] = "Default"
        env.pop("OS_PROJECT_ID", None)
        if project is None:
            env.pop("OS_PROJECT_NAME", None)
        else:
            env["OS_PROJECT_NAME"] = project
            env["OS_PROJECT_DOMAIN_NAME"] = "Default"
        return Cli(env, f"{user}@{project}")

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(OPENSTACK), *args], env=self.env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=CLI_TIMEOUT)

    @staticmethod
    def _describe(args, proc) -> str:
        return (f"openstack {' '.join(args)} exited {proc.returncode}\n"
                f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")

    def ok(self, *args: str) -> str:
        proc = self.run(*args)
        assert proc.returncode == 0, f"[{self.label}] " + self._describe(args, proc)
        return proc.stdout

    def json(self, *args: str):
        out = self.ok(*args, "-f", "json")
        try:
            return json.loads(out)
        except ValueError:  # pragma: no cover - makes the failure readable
            pytest.fail(f"[{self.label}] openstack {' '.join(args)}: not JSON:\n{out}")

    def fail(self, *args: str) -> str:
        """Runs a command that must fail; returns its stderr."""
        proc = self.run(*args)
        assert proc.returncode != 0, (f"[{self.label}] expected a failure; "
                                      + self._describe(args, proc))
        return proc.stderr

    def token(self) -> str:
        return self.json("token", "issue")["id"]


@pytest.fixture(scope="module")
def admin(aio, tmp_path_factory) -> Cli:
    home = tmp_path_factory.mktemp("osc-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(HOME=str(home), OS_CLIENT_CONFIG_FILE=str(home / "no-clouds.yaml"),
               no_proxy="127.0.0.1,localhost", NO_PROXY="127.0.0.1,localhost")
    env.update(aio.openrc)
    return Cli(env, "admin")


@pytest.fixture(scope="module")
def admin_token_info(admin) -> dict:
    return admin.json("token", "issue")


@dataclass
class Member:
    project: str
    project_id: str
    user: str
    user_id: str
    password: str
    cli: Cli


def provision(admin: Cli, role: str = "member", prefix: str = "m") -> Member:
    """A project and a user with `role` on it, made as test tooling does."""
    project, user, password = uniq(f"{prefix}-proj"), uniq(f"{prefix}-user"), uniq("pw")
    proj = admin.json("project", "create", "--domain", "default",
                      "--description", "identity CLI tests", project)
    usr = admin.json("user", "create", "--domain", "default", "--password", password,
                     "--project", project, user)
    admin.ok("role", "add", "--project", project, "--user", user, role)
    return Member(project, proj["id"], user, usr["id"], password,
                  admin.as_user(user, password, project))


@pytest.fixture(scope="module")
def make_member(admin):
    def make(role: str = "member", prefix: str = "m") -> Member:
        return provision(admin, role, prefix)
    return make


# --------------------------------------------------------------------------
# Raw HTTP


@dataclass
class Resp:
    status: int
    headers: object
    body: bytes

    def json(self):
        return json.loads(self.body)


def http(method: str, url: str, token: str | None = None, body=None,
         headers: dict | None = None) -> Resp:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    req.add_header("Accept", "application/json")
    if token is not None:
        req.add_header("X-Auth-Token", token)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with _NO_PROXY.open(req, timeout=HTTP_TIMEOUT) as resp:
            return Resp(resp.status, resp.headers, resp.read())
    except urllib.error.HTTPError as exc:
        return Resp(exc.code, exc.headers, exc.read())


def password_token(aio: AllInOne, user: str, password: str, project: str | None = None):
    """POST /v3/auth/tokens; a scope only when project is given."""
    auth = {"identity": {"methods": ["password"], "password": {
        "user": {"name": user, "domain": {"name": "Default"}, "password": password}}}}
    if project is not None:
        auth["scope"] = {"project": {"name": project, "domain": {"name": "Default"}}}
    resp = http("POST", aio.identity + "/auth/tokens", body={"auth": auth})
    return resp, resp.headers.get("X-Subject-Token")


def list_networks_status(aio: AllInOne, token: str | None) -> int:
    return http("GET", aio.api + "/networks", token=token).status


def assert_401_from_api(resp: Resp, aio: AllInOne, message: str | None = UNAUTHENTICATED):
    assert resp.status == 401, (resp.status, resp.body)
    error = resp.json()["error"]
    assert error["code"] == 401 and error["title"] == "Unauthorized", error
    if message is not None:
        assert error["message"] == message, error
    www = resp.headers.get("WWW-Authenticate")
    assert www is not None and www.startswith("Keystone uri="), www
    uri = www[len("Keystone uri="):].strip('"')
    assert uri.rstrip("/") in (aio.identity_root, aio.identity), www


def parse_expires(text: str) -> datetime:
    for fmt in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z"):
        try:
            return datetime.strptime(text.replace("Z", "+0000"), fmt)
        except ValueError:
            pass
    return datetime.fromisoformat(text)


def quota_rows(rows) -> dict:
    return {r["Resource"]: r for r in rows}


# --------------------------------------------------------------------------
# 1. token issue


def test_admin_token_issue(aio, admin):
    before = datetime.now(timezone.utc)
    tok = admin.json("token", "issue")
    assert isinstance(tok["id"], str) and len(tok["id"]) > 20
    assert re.fullmatch(r"[0-9a-f]{32}", tok["project_id"]), tok
    assert re.fullmatch(r"[0-9a-f]{32}", tok["user_id"]), tok
    expires = parse_expires(tok["expires"])
    assert before < expires <= before + timedelta(days=1), tok["expires"]

    # the ids are the admin user's and the admin project's
    assert admin.json("project", "show", "admin")["id"] == tok["project_id"]
    assert admin.json("user", "show", "admin")["id"] == tok["user_id"]
    # and the token is good on the Neutron API
    assert list_networks_status(aio, tok["id"]) == 200
    # as well as on the identity's own validation
    check = http("GET", aio.identity + "/auth/tokens", token=tok["id"],
                 headers={"X-Subject-Token": tok["id"]})
    assert check.status == 200
    body = check.json()["token"]
    assert body["project"]["id"] == tok["project_id"]
    assert body["user"]["id"] == tok["user_id"]
    assert "admin" in {r["name"] for r in body["roles"]}


# --------------------------------------------------------------------------
# 2. provisioning


def test_provisioning_projects_users_and_roles(admin):
    pa, pb = uniq("A"), uniq("B")
    ua, ub = uniq("userA"), uniq("userB")
    pw_a, pw_b = uniq("pwA"), uniq("pwB")

    proj_a = admin.json("project", "create", pa)
    proj_b = admin.json("project", "create", pb)
    for proj, name in ((proj_a, pa), (proj_b, pb)):
        assert proj["name"] == name
        assert proj["enabled"] is True
        assert proj["domain_id"] == "default"
        assert re.fullmatch(r"[0-9a-f]{32}", proj["id"])
    assert proj_a["id"] != proj_b["id"]

    user_a = admin.json("user", "create", "--domain", "default", "--password", pw_a,
                        "--project", pa, ua)
    user_b = admin.json("user", "create", "--domain", "default", "--password", pw_b,
                        "--project", pb, ub)
    assert user_a["name"] == ua and user_b["name"] == ub
    assert user_a["default_project_id"] == proj_a["id"]
    assert user_b["default_project_id"] == proj_b["id"]
    assert user_a["domain_id"] == "default" and user_a["enabled"] is True
    assert "password" not in user_a

    # a project name is unique in its domain
    err = admin.fail("project", "create", pa)
    assert "409" in err and "Conflict" in err, err

    admin.ok("role", "add", "--project", pa, "--user", ua, "member")
    admin.ok("role", "add", "--project", pb, "--user", ub, "member")

    rows = admin.json("role", "assignment", "list", "--user", ua, "--project", pa, "--names")
    assert [(r["Role"], r["User"], r["Project"]) for r in rows] == [
        ("member", f"{ua}@Default", f"{pa}@Default")]
    assert admin.json("role", "assignment", "list", "--user", ub, "--project", pa,
                      "--names") == []

    # the new users log in to their projects
    cli_a = admin.as_user(ua, pw_a, pa)
    tok = cli_a.json("token", "issue")
    assert tok["project_id"] == proj_a["id"] and tok["user_id"] == user_a["id"]
    # and not to the other one (no role there)
    err = admin.as_user(ua, pw_a, pb).fail("token", "issue")
    assert "(HTTP 401)" in err, err


# --------------------------------------------------------------------------
# 3. the install guide's catalog steps


def _network_endpoints(admin: Cli) -> list:
    return [e for e in admin.json("endpoint", "list") if e["Service Type"] == "network"]


def _ensure_network_catalog(admin: Cli, aio: AllInOne):
    """Puts a network service with public/internal/admin endpoints back."""
    have = {e["Interface"] for e in _network_endpoints(admin)}
    missing = {"public", "internal", "admin"} - have
    if not missing:
        return
    services = [s for s in admin.json("service", "list") if s["Type"] == "network"]
    if services:
        service = services[0]["ID"]
    else:
        service = admin.json("service", "create", "--name", "neutron",
                             "--description", "OpenStack Networking", "network")["id"]
    for interface in sorted(missing):
        admin.ok("endpoint", "create", "--region", "RegionOne", service, interface, aio.root)


def test_catalog_seed_steps_recreate_the_network_service(aio, admin):
    try:
        bootstrapped = admin.json("service", "show", "neutron")
        assert bootstrapped["type"] == "network"
        eps = _network_endpoints(admin)
        assert sorted(e["Interface"] for e in eps) == ["admin", "internal", "public"]
        assert {e["URL"] for e in eps} == {aio.root}

        admin.ok("service", "delete", "neutron")
        # deleting a service deletes its endpoints (as Keystone)
        assert _network_endpoints(admin) == []
        assert "network" not in {s["Type"] for s in admin.json("service", "list")}
        # so the token's catalog has no network endpoint and osc cannot talk to Neutron
        err = admin.fail("network", "list")
        assert "endpoint for network service" in err and "not found" in err, err

        svc = admin.json("service", "create", "--name", "neutron",
                         "--description", "OpenStack Networking", "network")
        assert svc["name"] == "neutron" and svc["type"] == "network"
        assert svc["description"] == "OpenStack Networking" and svc["enabled"] is True
        assert svc["id"] != bootstrapped["id"]

        for interface in ("public", "internal", "admin"):
            ep = admin.json("endpoint", "create", "--region", "RegionOne", "network",
                            interface, aio.root)
            assert ep["interface"] == interface
            assert ep["url"] == aio.root
            assert ep["region"] == "RegionOne"
            assert ep["service_id"] == svc["id"]
            assert ep["service_type"] == "network" and ep["enabled"] is True

        # the next token's catalog has the new endpoints: osc works again
        nets = admin.json("network", "list")
        assert isinstance(nets, list)
        name = uniq("after-catalog")
        net = admin.json("network", "create", name)
        assert net["name"] == name
        admin.ok("network", "delete", net["id"])

        listed = admin.json("endpoint", "list", "--service", "network")
        assert sorted(e["Interface"] for e in listed) == ["admin", "internal", "public"]
        assert {e["Service Name"] for e in listed} == {"neutron"}
        assert {e["URL"] for e in listed} == {aio.root}
        assert {e["Region"] for e in listed} == {"RegionOne"}
        catalog = {c["Type"]: c for c in admin.json("catalog", "list")}
        assert sorted(e["interface"] for e in catalog["network"]["Endpoints"]) == [
            "admin", "internal", "public"]
    finally:
        _ensure_network_catalog(admin, aio)


# --------------------------------------------------------------------------
# 4. network / subnet / port as admin


def test_admin_network_subnet_port_lifecycle(admin, admin_token_info):
    name, sub_name, port_name = uniq("net"), uniq("sub"), uniq("port")
    net = admin.json("network", "create", name, "--description", "made by osc")
    assert net["name"] == name
    assert net["description"] == "made by osc"
    assert net["status"] == "ACTIVE"
    assert net["admin_state_up"] is True
    assert net["shared"] is False
    assert net["router:external"] is False
    assert net["project_id"] == admin_token_info["project_id"]
    assert net["provider:network_type"] == "vxlan"
    assert 1 <= net["provider:segmentation_id"] <= 65535
    assert net["mtu"] == 1450
    assert net["subnets"] == []

    rows = {r["ID"]: r for r in admin.json("network", "list")}
    assert rows[net["id"]]["Name"] == name

    sub = admin.json("subnet", "create", sub_name, "--network", name,
                     "--subnet-range", "10.9.0.0/24",
                     "--allocation-pool", "start=10.9.0.10,end=10.9.0.20")
    assert sub["name"] == sub_name
    assert sub["network_id"] == net["id"]
    assert sub["cidr"] == "10.9.0.0/24"
    assert sub["ip_version"] == 4
    assert sub["gateway_ip"] == "10.9.0.1"
    assert sub["allocation_pools"] == [{"start": "10.9.0.10", "end": "10.9.0.20"}]
    assert sub["enable_dhcp"] is True
    assert sub["project_id"] == admin_token_info["project_id"]

    port = admin.json("port", "create", port_name, "--network", name,
                      "--fixed-ip", f"subnet={sub_name},ip-address=10.9.0.15")
    assert port["name"] == port_name
    assert port["network_id"] == net["id"]
    assert port["fixed_ips"] == [{"subnet_id": sub["id"], "ip_address": "10.9.0.15"}]
    assert re.fullmatch(r"fa:16:3e(:[0-9a-f]{2}){3}", port["mac_address"]), port["mac_address"]
    assert port["admin_state_up"] is True
    assert port["project_id"] == admin_token_info["project_id"]
    # the address is taken now
    err = admin.fail("port", "create", uniq("port2"), "--network", name,
                     "--fixed-ip", f"subnet={sub_name},ip-address=10.9.0.15")
    assert "409" in err and "10.9.0.15" in err, err

    shown = admin.json("network", "show", net["id"])
    assert shown["subnets"] == [sub["id"]]

    new_name = uniq("renamed")
    assert admin.ok("network", "set", "--name", new_name, name) == ""
    assert admin.json("network", "show", net["id"])["name"] == new_name
    assert "No Network found for" in admin.fail("network", "show", name)

    # a network with a port in use is not deleted (409), and stays
    err = admin.fail("network", "delete", net["id"])
    assert "409" in err and "still in use" in err, err
    assert admin.json("network", "show", net["id"])["id"] == net["id"]

    admin.ok("port", "delete", port["id"])
    admin.ok("network", "delete", net["id"])
    assert f"No Network found for {net['id']}" in admin.fail("network", "show", net["id"])
    assert "No Subnet found" in admin.fail("subnet", "show", sub["id"])
    assert net["id"] not in {r["ID"] for r in admin.json("network", "list")}


# --------------------------------------------------------------------------
# 5. isolation between two members


def test_isolation_between_two_members(aio, admin, make_member):
    a, b = make_member(prefix="isoA"), make_member(prefix="isoB")
    net = a.cli.json("network", "create", uniq("a-private"))
    assert net["project_id"] == a.project_id and net["shared"] is False
    sub = a.cli.json("subnet", "create", uniq("a-sub"), "--network", net["id"],
                     "--subnet-range", "10.30.0.0/24")
    assert sub["project_id"] == a.project_id
    admin_net = admin.json("network", "create", uniq("admin-private"))

    a_ids = {r["ID"] for r in a.cli.json("network", "list")}
    assert net["id"] in a_ids
    assert admin_net["id"] not in a_ids  # admin's private network is not A's
    b_ids = {r["ID"] for r in b.cli.json("network", "list")}
    assert net["id"] not in b_ids and admin_net["id"] not in b_ids

    # B can neither read, change, delete nor use A's private network
    assert f"No Network found for {net['id']}" in b.cli.fail("network", "show", net["id"])
    assert "No Network found" in b.cli.fail("network", "set", "--name", "hijacked", net["id"])
    assert "No Network found" in b.cli.fail("network", "delete", net["id"])
    assert "No Network found" in b.cli.fail("port", "create", uniq("b-port"),
                                            "--network", net["id"])
    assert "No Subnet found" in b.cli.fail("subnet", "show", sub["id"])
    # ... nor through the API (the POST the CLI did not get to send)
    tok_b = b.cli.token()
    resp = http("POST", aio.api + "/ports", token=tok_b,
                body={"port": {"network_id": net["id"]}})
    assert resp.status == 404, (resp.status, resp.body)
    assert resp.json()["NeutronError"]["type"] == "NetworkNotFound"
    resp = http("PUT", f"{aio.api}/networks/{net['id']}", token=tok_b,
                body={"network": {"name": "hijacked"}})
    assert resp.status == 404, (resp.status, resp.body)
    resp = http("DELETE", f"{aio.api}/networks/{net['id']}", token=tok_b)
    assert resp.status == 404, (resp.status, resp.body)
    # nothing changed, nothing was created
    still = a.cli.json("network", "show", net["id"])
    assert still["name"] == net["name"]
    assert b.cli.json("port", "list") == []

    # admin shares A's network with B only
    rbac = admin.json("network", "rbac", "create", "--target-project", b.project_id,
                      "--action", "access_as_shared", "--type", "network", net["id"])
    assert rbac["object_id"] == net["id"] and rbac["target_project_id"] == b.project_id
    assert net["id"] in {r["ID"] for r in b.cli.json("network", "list")}
    seen = b.cli.json("network", "show", net["id"])
    assert seen["shared"] is True and seen["project_id"] == a.project_id
    port = b.cli.json("port", "create", uniq("b-port"), "--network", net["id"])
    assert port["project_id"] == b.project_id and port["network_id"] == net["id"]
    assert [ip["subnet_id"] for ip in port["fixed_ips"]] == [sub["id"]]
    assert port["fixed_ips"][0]["ip_address"].startswith("10.30.0.")
    # the owner's view: not shared with A's own project; A sees the port on
    # its network (Neutron's get_port: network owner reader) but it is B's
    assert a.cli.json("network", "show", net["id"])["shared"] is False
    seen_port = a.cli.json("port", "show", port["id"])
    assert seen_port["project_id"] == b.project_id
    # B may see A's network now but still not change or delete it (403)
    err = b.cli.fail("network", "set", "--name", "hijacked", net["id"])
    assert "403" in err, err
    err = b.cli.fail("network", "delete", net["id"])
    assert "403" in err, err
    assert a.cli.json("network", "show", net["id"])["name"] == net["name"]

    # a network shared with everybody (network create --share)
    shared = admin.json("network", "create", "--share", uniq("admin-shared"))
    assert shared["shared"] is True
    for m in (a, b):
        ids = {r["ID"] for r in m.cli.json("network", "list")}
        assert shared["id"] in ids and admin_net["id"] not in ids
    admin.ok("subnet", "create", uniq("shared-sub"), "--network", shared["id"],
             "--subnet-range", "10.31.0.0/24")
    port2 = b.cli.json("port", "create", uniq("b-port2"), "--network", shared["id"])
    assert port2["project_id"] == b.project_id
    assert port2["fixed_ips"][0]["ip_address"].startswith("10.31.0.")


# --------------------------------------------------------------------------
# 6. network rbac CRUD


def test_network_rbac_create_list_show_delete(admin, admin_token_info, make_member):
    t = make_member(prefix="rbac")
    net = admin.json("network", "create", uniq("rbac-net"))
    admin.ok("subnet", "create", uniq("rbac-sub"), "--network", net["id"],
             "--subnet-range", "10.40.0.0/24")
    assert net["id"] not in {r["ID"] for r in t.cli.json("network", "list")}

    rbac = admin.json("network", "rbac", "create", "--target-project", t.project,
                      "--target-project-domain", "default",
                      "--action", "access_as_shared", "--type", "network", net["id"])
    assert rbac["object_type"] == "network"
    assert rbac["object_id"] == net["id"]
    assert rbac["action"] == "access_as_shared"
    assert rbac["target_project_id"] == t.project_id
    assert rbac["project_id"] == admin_token_info["project_id"]

    rows = {r["ID"]: r for r in admin.json("network", "rbac", "list")}
    assert rows[rbac["id"]]["Object Type"] == "network"
    assert rows[rbac["id"]]["Object ID"] == net["id"]
    filtered = admin.json("network", "rbac", "list", "--type", "network",
                          "--action", "access_as_shared")
    assert rbac["id"] in {r["ID"] for r in filtered}
    external = admin.json("network", "rbac", "list", "--action", "access_as_external")
    assert rbac["id"] not in {r["ID"] for r in external}

    shown = admin.json("network", "rbac", "show", rbac["id"])
    for key in ("id", "object_type", "object_id", "action", "target_project_id", "project_id"):
        assert shown[key] == rbac[key], key

    # the target sees the network and uses it; while it has a port there the
    # policy cannot go (409)
    assert net["id"] in {r["ID"] for r in t.cli.json("network", "list")}
    port = t.cli.json("port", "create", uniq("t-port"), "--network", net["id"])
    err = admin.fail("network", "rbac", "delete", rbac["id"])
    assert "409" in err and "cannot be removed" in err, err
    assert admin.json("network", "rbac", "show", rbac["id"])["id"] == rbac["id"]
    t.cli.ok("port", "delete", port["id"])

    admin.ok("network", "rbac", "delete", rbac["id"])
    assert "No RBACPolicy found" in admin.fail("network", "rbac", "show", rbac["id"])
    assert rbac["id"] not in {r["ID"] for r in admin.json("network", "rbac", "list")}
    assert net["id"] not in {r["ID"] for r in t.cli.json("network", "list")}
    assert "No Network found" in t.cli.fail("network", "show", net["id"])


# --------------------------------------------------------------------------
# 7. quotas


def _networks_quota(cli: Cli, *args: str) -> dict:
    rows = quota_rows(cli.json("quota", "show", *args))
    assert "networks" in rows, rows
    return rows["networks"]


def _fill_network_quota(m, limit: int) -> None:
    """As member m: creates `limit` networks, then checks the next one is
    refused as over quota and that exactly those `limit` exist."""
    made = [m.cli.json("network", "create", uniq(f"q{i}"))["id"] for i in range(limit)]
    err = m.cli.fail("network", "create", uniq(f"q{limit}"))
    assert "409" in err and "Quota exceeded for resources: ['network']" in err, err
    owned = m.cli.json("network", "list", "--project", m.project_id)
    assert sorted(r["ID"] for r in owned) == sorted(made)


def test_quota_set_and_show_with_the_cli(admin, make_member):
    m = make_member(prefix="quota")
    # `openstack quota set` sends {"quota": {"network": 3, "check_limit": true}}
    admin.ok("quota", "set", "--networks", "3", m.project_id)
    assert _networks_quota(admin, m.project_id)["Limit"] == 3
    assert _networks_quota(admin, "--network", m.project)["Limit"] == 3

    _fill_network_quota(m, 3)

    # check_limit: a limit below what is in use is refused ...
    err = admin.fail("quota", "set", "--networks", "2", m.project_id)
    assert "400" in err and "greater than or equal to already used 3" in err, err
    assert _networks_quota(admin, m.project_id)["Limit"] == 3
    # ... unless forced
    admin.ok("quota", "set", "--networks", "2", "--force", m.project_id)
    assert _networks_quota(admin, m.project_id)["Limit"] == 2


def test_network_quota_is_enforced_for_a_member(aio, admin, make_member):
    """The same limit set straight through the API (no check_limit), so that
    `quota show` and enforcement are checked even if `quota set` is broken."""
    m = make_member(prefix="quota2")
    resp = http("PUT", f"{aio.api}/quotas/{m.project_id}", token=admin.token(),
                body={"quota": {"network": 3}})
    assert resp.status == 200, (resp.status, resp.body)
    assert resp.json()["quota"]["network"] == 3

    assert _networks_quota(admin, m.project_id)["Limit"] == 3
    assert _networks_quota(admin, "--network", m.project)["Limit"] == 3

    _fill_network_quota(m, 3)
    usage = _networks_quota(admin, "--usage", m.project_id)
    assert usage["Limit"] == 3 and usage["In Use"] == 3

    # a member may not change its quota
    err = m.cli.fail("quota", "set", "--networks", "10", m.project_id)
    assert "403" in err, err
    assert _networks_quota(admin, m.project_id)["Limit"] == 3


def test_a_member_reads_its_own_projects_quota(aio, admin, make_member):
    """Neutron's QuotaSetsController.show (and .details) skip the get_quota
    policy when the id is the caller's own project: any member may read its
    project's quota; only another project's needs get_quota (admin)."""
    m = make_member(prefix="quota3")
    other = make_member(prefix="quota3b")
    resp = http("PUT", f"{aio.api}/quotas/{m.project_id}", token=admin.token(),
                body={"quota": {"network": 4}})
    assert resp.status == 200, (resp.status, resp.body)

    assert _networks_quota(m.cli)["Limit"] == 4  # `openstack quota show`, own project
    token = m.cli.token()
    resp = http("GET", f"{aio.api}/quotas/{m.project_id}", token=token)
    assert resp.status == 200, (resp.status, resp.body)
    assert resp.json()["quota"]["network"] == 4
    resp = http("GET", f"{aio.api}/quotas/{m.project_id}/details", token=token)
    assert resp.status == 200, (resp.status, resp.body)
    assert resp.json()["quota"]["network"] == {"limit": 4, "used": 0, "reserved": 0}
    # another project's quota stays the admin's business
    resp = http("GET", f"{aio.api}/quotas/{other.project_id}", token=token)
    assert resp.status == 403, (resp.status, resp.body)


# --------------------------------------------------------------------------
# 8. bad credentials and bad tokens


def test_wrong_password_is_401(aio, admin):
    err = admin.as_user("admin", "not-" + aio.openrc["OS_PASSWORD"], "admin").fail(
        "token", "issue")
    assert UNAUTHENTICATED in err and "(HTTP 401)" in err, err
    err = admin.as_user(uniq("nobody"), "whatever", "admin").fail("token", "issue")
    assert UNAUTHENTICATED in err and "(HTTP 401)" in err, err

    resp, token = password_token(aio, "admin", "wrong", "admin")
    assert resp.status == 401 and token is None
    assert resp.json()["error"]["message"] == UNAUTHENTICATED
    assert resp.headers.get("WWW-Authenticate", "").startswith("Keystone uri=")


def test_disabled_project_cannot_get_a_token(aio, admin, make_member):
    m = make_member(prefix="disp")
    old = m.cli.token()
    assert list_networks_status(aio, old) == 200
    admin.ok("project", "set", "--disable", m.project)
    try:
        assert admin.json("project", "show", m.project_id)["enabled"] is False
        err = m.cli.fail("token", "issue")
        assert "(HTTP 401)" in err, err
        # a token scoped to the project stops working too
        assert_401_from_api(http("GET", aio.api + "/networks", token=old), aio)
    finally:
        admin.ok("project", "set", "--enable", m.project)
    assert admin.json("project", "show", m.project_id)["enabled"] is True
    tok = m.cli.json("token", "issue")
    assert tok["project_id"] == m.project_id
    assert list_networks_status(aio, tok["id"]) == 200


def test_bad_and_unscoped_tokens_on_the_api(aio, admin):
    name = uniq("never")
    # no token, a garbage token, a tampered token: 401 with the Keystone URI
    assert_401_from_api(http("GET", aio.api + "/networks"), aio)
    assert_401_from_api(http("GET", aio.api + "/networks", token="garbage"), aio)
    good = admin.token()
    tampered = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    assert_401_from_api(http("GET", aio.api + "/networks", token=tampered), aio)
    assert_401_from_api(http("POST", aio.api + "/networks", token="garbage",
                             body={"network": {"name": name}}), aio)
    # what needs no token still answers
    assert http("GET", aio.root + "/healthcheck").status == 200
    assert http("GET", aio.root + "/").status == 200

    # an unscoped token (a user without a default project, no scope asked)
    user, pw = uniq("noproj"), uniq("pw")
    created = admin.json("user", "create", "--domain", "default", "--password", pw, user)
    assert created["default_project_id"] is None
    resp, unscoped = password_token(aio, user, pw)
    assert resp.status == 201, (resp.status, resp.body)
    assert unscoped
    body = resp.json()["token"]
    assert "project" not in body and "domain" not in body
    assert body["user"]["id"] == created["id"]
    # (the message is Neutrino's own: "The token is not scoped to a project.")
    assert_401_from_api(http("GET", aio.api + "/networks", token=unscoped), aio, None)
    assert_401_from_api(http("POST", aio.api + "/networks", token=unscoped,
                             body={"network": {"name": name}}), aio, None)

    # nothing was created by any of it
    assert name not in {r["Name"] for r in admin.json("network", "list")}


def test_revoked_tokens_are_refused_by_the_api(aio, admin, make_member):
    m = make_member(prefix="revoke")
    first, second, third = m.cli.token(), m.cli.token(), m.cli.token()
    for tok in (first, second, third):
        assert list_networks_status(aio, tok) == 200

    # `openstack token revoke` as admin
    assert admin.ok("token", "revoke", first) == ""
    assert_401_from_api(http("GET", aio.api + "/networks", token=first), aio)
    check = http("GET", aio.identity + "/auth/tokens", token=admin.token(),
                 headers={"X-Subject-Token": first})
    assert check.status == 404, (check.status, check.body)

    # DELETE /v3/auth/tokens by the token's own user
    resp = http("DELETE", aio.identity + "/auth/tokens", token=second,
                headers={"X-Subject-Token": second})
    assert resp.status == 204, (resp.status, resp.body)
    assert_401_from_api(http("GET", aio.api + "/networks", token=second), aio)

    # revocation is per token: the user's other token still works
    assert list_networks_status(aio, third) == 200


def test_disabling_a_user_revokes_its_tokens(aio, admin, make_member):
    """Keystone persists a revocation event for the user when it is disabled
    (identity Manager.update_user -> _persist_revocation_event_for_user), so
    its earlier tokens stay invalid after it is enabled again."""
    m = make_member(prefix="udis")
    old = m.cli.token()
    assert list_networks_status(aio, old) == 200
    admin.ok("user", "set", "--disable", m.user)
    try:
        assert "(HTTP 401)" in m.cli.fail("token", "issue")
        assert_401_from_api(http("GET", aio.api + "/networks", token=old), aio)
    finally:
        admin.ok("user", "set", "--enable", m.user)
    fresh = m.cli.token()
    assert list_networks_status(aio, fresh) == 200
    assert_401_from_api(http("GET", aio.api + "/networks", token=old), aio)


def test_changing_a_users_password_revokes_its_tokens(aio, admin, make_member):
    """Keystone revokes a user's tokens when an update sets its password."""
    m = make_member(prefix="upw")
    old = m.cli.token()
    assert list_networks_status(aio, old) == 200
    new_password = uniq("newpw")
    admin.ok("user", "set", "--password", new_password, m.user)
    err = m.cli.fail("token", "issue")  # the old password
    assert UNAUTHENTICATED in err, err
    fresh = admin.as_user(m.user, new_password, m.project).token()
    assert list_networks_status(aio, fresh) == 200
    assert_401_from_api(http("GET", aio.api + "/networks", token=old), aio)


# --------------------------------------------------------------------------
# 9. the reader role


def test_reader_can_list_but_not_create(aio, admin, make_member):
    r = make_member(role="reader", prefix="reader")
    rows = admin.json("role", "assignment", "list", "--user", r.user, "--project", r.project,
                      "--names")
    assert [row["Role"] for row in rows] == ["reader"]
    net = admin.json("network", "create", "--project", r.project_id, uniq("for-reader"))
    assert net["project_id"] == r.project_id

    assert net["id"] in {row["ID"] for row in r.cli.json("network", "list")}
    assert r.cli.json("network", "show", net["id"])["name"] == net["name"]

    name = uniq("reader-made")
    err = r.cli.fail("network", "create", name)
    assert "403" in err and "disallowed by policy" in err, err
    err = r.cli.fail("network", "set", "--name", name, net["id"])
    assert "403" in err, err
    err = r.cli.fail("network", "delete", net["id"])
    assert "403" in err, err
    resp = http("POST", aio.api + "/networks", token=r.cli.token(),
                body={"network": {"name": name}})
    assert resp.status == 403, (resp.status, resp.body)
    # nothing made, nothing changed
    names = {row["Name"] for row in admin.json("network", "list")}
    assert name not in names and net["name"] in names

    # `openstack role add` member: the next token may create
    admin.ok("role", "add", "--project", r.project, "--user", r.user, "member")
    made = r.cli.json("network", "create", name)
    assert made["project_id"] == r.project_id
    # and back to reader only
    admin.ok("role", "remove", "--project", r.project, "--user", r.user, "member")
    err = r.cli.fail("network", "create", uniq("reader-again"))
    assert "403" in err, err
