"""Fixtures for the openstacksdk / openstackclient compatibility suite.

One ``neutrino all-in-one`` process serves the whole session (SQLite state in a
temporary directory, ephemeral port on 127.0.0.1). Tests talk to it only
through the real openstacksdk (and, in test_cli.py, the real ``openstack``
CLI), so every check here is a check of what those clients see.

Connecting without Keystone (verified with openstacksdk 4.22.0 and
keystoneauth1 5.18.1):

* ``openstack.connection.Connection(auth_type='none',
  network_endpoint_override='http://127.0.0.1:PORT')`` -- the endpoint is the
  server root, *not* ``.../v2.0``: keystoneauth runs version discovery on it
  and finds ``v2.0`` in ``GET /``. (``GET /v2.0`` lists resources, not
  versions, so a ``.../v2.0`` endpoint fails discovery, as with Neutron.)
* equivalently ``Connection(auth_type='none', auth={'endpoint': ROOT})``.
* as a non-admin of another project: a keystoneauth ``Session`` with
  ``auth=keystoneauth1.noauth.NoAuth(endpoint=ROOT)`` and
  ``additional_headers={'X-Roles': 'member', 'X-Project-Id': PROJECT}``
  handed to ``Connection(session=...)``; see ``member_conn``.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from keystoneauth1 import noauth
from keystoneauth1 import session as ks_session

import openstack
from openstack import exceptions

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BIN = REPO_ROOT / "target" / "debug" / "neutrino"

# The suite's server configuration, in Neutron's INI form: a VLAN range on
# physnet1 so that provider VLAN networks can be created, and any physnet for
# flat networks. Tenant networks stay vxlan (Neutrino's default).
NEUTRINO_CONF = """\
[DEFAULT]
auth_strategy = noauth
# as in any real deployment (Neutron's built-in default is False)
allow_overlapping_ips = True

[ml2]
type_drivers = local,flat,vlan,vxlan,gre
tenant_network_types = vxlan

[ml2_type_flat]
flat_networks = *

[ml2_type_vlan]
network_vlan_ranges = physnet1:100:199

[ml2_type_vxlan]
vni_ranges = 1:65535

[identity]
# noauth: the built-in identity is not needed (test_identity_cli.py runs one)
enabled = false

[agent]
# what agents present on the agent channel (tests register agents with it)
channel_secret = sdk-suite-secret
"""

CHANNEL_SECRET = "sdk-suite-secret"

VLAN_RANGE = range(100, 200)

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
def log_tail(path: Path, lines: int = 200) -> str:
    """The last lines of a server's log, without colour codes."""
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:  # pragma: no cover - diagnostics only
        return f"(cannot read {path}: {exc})"
    return _ANSI.sub("", "\n".join(text.splitlines()[-lines:]))


_LISTENING = re.compile(r"listening on (http://\S+?/v2\.0)\b")


@dataclass
class NeutrinoServer:
    proc: subprocess.Popen
    root: str  # e.g. http://127.0.0.1:43211 (what clients are given)
    api: str  # root + /v2.0
    state_dir: Path
    stderr_path: Path
    exit_notes: list = field(default_factory=list)

    def log_tail(self, lines: int = 200) -> str:
        return log_tail(self.stderr_path, lines)


_SERVER: NeutrinoServer | None = None


def _binary() -> Path:
    path = Path(os.environ.get("NEUTRINO_BIN", DEFAULT_BIN))
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.exit(
            f"neutrino binary not found at {path}: run `cargo build -p neutrino` "
            "(or set NEUTRINO_BIN)",
            returncode=4,
        )
    return path


def _read_url(proc: subprocess.Popen, deadline: float) -> str | None:
    """Reads stdout lines until the 'listening on' line or the deadline."""
    assert proc.stdout is not None
    buf = b""
    fd = proc.stdout.fileno()
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                return None  # stdout closed: the process is gone
            buf += chunk
            for line in buf.decode(errors="replace").splitlines():
                m = _LISTENING.search(line)
                if m:
                    return m.group(1)
        elif proc.poll() is not None:
            return None
    return None


def _wait_healthy(root: str, proc: subprocess.Popen, deadline: float) -> bool:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(root + "/healthcheck", timeout=2) as resp:
                if resp.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.05)
    return False


def _stop(proc: subprocess.Popen) -> str | None:
    """SIGTERM, then SIGKILL after 10 s. Returns a note when it misbehaved."""
    if proc.poll() is not None:
        return f"neutrino had already exited with status {proc.returncode}"
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return "neutrino did not exit within 10 s of SIGTERM; killed it"
    if rc != 0:
        return f"neutrino exited with status {rc} after SIGTERM"
    return None


@pytest.fixture(scope="session")
def neutrino(tmp_path_factory) -> NeutrinoServer:
    """A running `neutrino all-in-one` on 127.0.0.1 with an ephemeral port."""
    global _SERVER
    binary = _binary()
    base = tmp_path_factory.mktemp("neutrino")
    conf = base / "neutron.conf"
    conf.write_text(NEUTRINO_CONF)
    state = base / "state"
    stderr_path = base / "neutrino.stderr.log"
    env = dict(os.environ)
    env.setdefault("NO_COLOR", "1")
    with open(stderr_path, "wb") as err:
        proc = subprocess.Popen(
            [
                str(binary),
                "all-in-one",
                "--config-file",
                str(conf),
                "--state-dir",
                str(state),
                "--bind-host",
                "127.0.0.1",
                "--bind-port",
                "0",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err,
            env=env,
        )
    deadline = time.monotonic() + 30
    api = _read_url(proc, deadline)
    root = api[: -len("/v2.0")] if api and api.endswith("/v2.0") else api
    if not api or not _wait_healthy(root, proc, deadline):
        note = _stop(proc)
        log = _ANSI.sub("", stderr_path.read_text(errors="replace"))
        pytest.exit(
            "neutrino all-in-one did not come up "
            f"(url={api!r}, {note or 'stopped'}); its stderr:\n{log}",
            returncode=3,
        )
    server = NeutrinoServer(proc, root, api, state, stderr_path)
    _SERVER = server
    try:
        yield server
    finally:
        note = _stop(proc)
        if note:
            server.exit_notes.append(note)
        # Best effort: the state dir lives under pytest's basetemp anyway.
        shutil.rmtree(state, ignore_errors=True)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Shows the server's log (and shutdown trouble) when anything failed."""
    server = _SERVER
    if server is None:
        return
    failed = terminalreporter.stats.get("failed") or terminalreporter.stats.get("error")
    if server.exit_notes:
        terminalreporter.section("neutrino shutdown", sep="-")
        for note in server.exit_notes:
            terminalreporter.write_line(note)
    if failed or server.exit_notes:
        terminalreporter.section("neutrino stderr (last 200 lines)", sep="-")
        terminalreporter.write_line(server.log_tail())


# --------------------------------------------------------------------------
# Connections


def admin_connection(root: str) -> openstack.connection.Connection:
    return openstack.connection.Connection(
        auth_type="none", network_endpoint_override=root
    )


def project_connection(
    root: str, project_id: str, roles: str = "member"
) -> openstack.connection.Connection:
    sess = ks_session.Session(
        auth=noauth.NoAuth(endpoint=root),
        additional_headers={"X-Roles": roles, "X-Project-Id": project_id},
    )
    return openstack.connection.Connection(session=sess)


@pytest.fixture(scope="session")
def conn(neutrino) -> openstack.connection.Connection:
    """An admin openstacksdk Connection (noauth: no role header = admin)."""
    c = admin_connection(neutrino.root)
    yield c
    c.close()


@pytest.fixture(scope="session")
def member_conn(neutrino):
    """Factory: member_conn(project_id) -> Connection as a non-admin member."""
    made = []

    def make(project_id: str, roles: str = "member"):
        c = project_connection(neutrino.root, project_id, roles)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


# --------------------------------------------------------------------------
# Helpers


def uniq(prefix: str = "t") -> str:
    return f"sdk-{prefix}-{uuid.uuid4().hex[:10]}"


def raw(proxy, method: str, path: str, **kwargs):
    """A request through the SDK's network proxy (keystoneauth adapter) that
    turns HTTP errors into the SDK's exceptions, like the SDK's own calls."""
    resp = proxy.request(path, method, raise_exc=False, **kwargs)
    exceptions.raise_from_response(resp)
    return resp


class Cleanup:
    """Deletes what a test created, ports first, then subnets, then networks."""

    def __init__(self, conn):
        self.conn = conn
        self.items: list[tuple[str, str]] = []

    def add(self, kind: str, obj):
        self.items.append((kind, obj.id if hasattr(obj, "id") else obj))
        return obj

    def network(self, c=None, set_tags=None, **attrs):
        """Creates a network; set_tags=[...] tags it afterwards (Neutron does
        not take ``tags`` in a network's POST body, only through /tags)."""
        c = c or self.conn
        net = self.add("network", c.network.create_network(**attrs))
        if set_tags:
            c.network.set_tags(net, list(set_tags))
            net = c.network.get_network(net.id)
        return net

    def subnet(self, c=None, **attrs):
        attrs.setdefault("ip_version", 4)
        return self.add("subnet", (c or self.conn).network.create_subnet(**attrs))

    def port(self, c=None, **attrs):
        return self.add("port", (c or self.conn).network.create_port(**attrs))

    def run(self):
        order = {"ip": 0, "router": 1, "port": 2, "subnet": 3, "network": 4, "security_group": 5}
        for kind, rid in sorted(reversed(self.items), key=lambda kv: order[kv[0]]):
            try:
                if kind == "router":
                    # A router goes after its interfaces.
                    for p in self.conn.network.ports(device_id=rid,
                                                     device_owner="network:router_interface"):
                        self.conn.network.remove_interface_from_router(rid, port=p.id)
                getattr(self.conn.network, f"delete_{kind}")(rid, ignore_missing=True)
            except Exception as exc:  # keep cleaning; report at the end
                print(f"cleanup: delete {kind} {rid}: {exc}", file=sys.stderr)


@pytest.fixture
def mk(conn):
    """Per-test factory that creates resources (as admin by default, or with
    c=another_connection) and deletes them after the test."""
    cleanup = Cleanup(conn)
    yield cleanup
    cleanup.run()


@pytest.fixture
def net_v4(mk):
    """A network with one IPv4 subnet 10.20.0.0/24 (gateway .1)."""
    net = mk.network(name=uniq("net4"))
    sub = mk.subnet(network_id=net.id, cidr="10.20.0.0/24", name=uniq("sub4"))
    return net, sub
