"""Podman for the container tests, with no registry and no change to the host's container set-up.

Everything podman keeps (its configuration, image storage, volumes, network definitions) lives in one
cache folder of the project's, `$KPIDASH_CONTAINER_CACHE` (default `~/.cache/kpidash/container`),
named to podman by CONTAINERS_CONF, CONTAINERS_STORAGE_CONF and CONTAINERS_REGISTRIES_CONF; nothing
under /etc/containers or /var/lib/containers is read for configuration or written. The folder outlives
the run, so the slow parts are made once per machine and reused:

- the base image: Debian bookworm (minbase, python3, python3-venv) made by debootstrap from Debian's
  own packages and `podman import`ed; PostgreSQL's image the same way with Debian's postgresql;
- the wheelhouse: every Python package the image needs, at constraints.txt's versions, `pip wheel`ed on
  the host from the package index, so the image build itself runs with `--network none`;
- the image's dependency layers (its `dependencies` stage, tagged so a prune keeps it).

Each of these is keyed by what it is made from (package lists, pyproject's dependencies,
constraints.txt's pins), so a change makes a new one. What this machine cannot do is a skip with the
exact reason, never a failure.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SUITE = "bookworm"
MIRROR = os.environ.get("KPIDASH_DEBIAN_MIRROR", "http://deb.debian.org/debian")
BASE_PACKAGES = ("python3", "python3-venv", "ca-certificates")
POSTGRES_PACKAGES = ("postgresql",)
LABEL = "kpidash.container-test=1"
RECIPE_VERSION = "1"  # bump to rebuild every cached image


class Unavailable(Exception):
    """This machine cannot run the container tests; the message says exactly why (the tests skip)."""


def cache_dir() -> Path:
    configured = os.environ.get("KPIDASH_CONTAINER_CACHE")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kpidash" / "container"


def _key(*parts: object) -> str:
    return hashlib.sha256(json.dumps([RECIPE_VERSION, *parts], default=str).encode()).hexdigest()[:12]


@dataclass
class Timings:
    """Seconds spent on each step of this run (printed at the end: cold and warm runs differ here)."""

    steps: dict[str, float] = field(default_factory=dict)

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.monotonic()
        try:
            yield
        finally:
            self.steps[name] = self.steps.get(name, 0.0) + time.monotonic() - start


class Podman:
    """`podman` with the project's own configuration and storage."""

    def __init__(self, cache: Path | None = None) -> None:
        self.cache = cache or cache_dir()
        self.timings = Timings()
        self.env = {
            **os.environ,
            "CONTAINERS_CONF": str(self.cache / "containers.conf"),
            "CONTAINERS_STORAGE_CONF": str(self.cache / "storage.conf"),
            "CONTAINERS_REGISTRIES_CONF": str(self.cache / "registries.conf"),
        }

    # set-up ---------------------------------------------------------------------------------
    def check_machine(self) -> None:
        """Raise Unavailable naming what is missing (tools, privileges)."""
        missing = [tool for tool in ("podman", "runc") if shutil.which(tool) is None]
        if missing:
            raise Unavailable(f"{' and '.join(missing)} not installed (apt-get install podman runc debootstrap; "
                              ".ci/run does it)")
        if os.geteuid() != 0:
            raise Unavailable("the container tests run podman as root (as CI does): rootless podman needs "
                              "subordinate uid ranges this machine's users do not have")

    def configure(self) -> None:
        """Write podman's configuration into the cache folder (every path in it points inside)."""
        c = self.cache
        for sub in ("storage", "run", "tmp", "networks", "volumes", "debs"):
            (c / sub).mkdir(parents=True, exist_ok=True)
        # default_ulimits = []: podman's default asks for more open files than this sandbox allows;
        # cgroupfs and a file event log: there is no systemd here.
        (c / "containers.conf").write_text(f"""\
[containers]
default_ulimits = []
log_driver = "k8s-file"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{c}/events.log"
tmp_dir = "{c}/tmp"
volume_path = "{c}/volumes"
static_dir = "{c}/storage/libpod"

[network]
network_config_dir = "{c}/networks"
""", encoding="utf-8")
        (c / "storage.conf").write_text(f"""\
[storage]
driver = "overlay"
graphroot = "{c}/storage"
runroot = "{c}/run"
""", encoding="utf-8")
        # No registry: a name that is not local must fail at once, not try docker.io.
        (c / "registries.conf").write_text("unqualified-search-registries = []\n", encoding="utf-8")

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """One container test run per cache folder at a time."""
        self.cache.mkdir(parents=True, exist_ok=True)
        with open(self.cache / "lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # running ----------------------------------------------------------------------------------
    def run(self, *args: str, check: bool = True, timeout: float = 300, input: str | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(["podman", *args], env={**self.env, **(env or {})}, capture_output=True, text=True,
                                timeout=timeout, input=input)
        if check and result.returncode != 0:
            raise AssertionError(f"podman {' '.join(args)} exited {result.returncode}:\n{_quiet(result.stderr)}"
                                 f"\n{result.stdout[-3000:]}")
        return result

    def image_exists(self, name: str) -> bool:
        return self.run("image", "exists", name, check=False).returncode == 0

    def remove_leftovers(self) -> None:
        """Containers, pods and volumes an earlier, killed run left behind."""
        for kind in ("container", "pod", "volume"):
            listed = []
            for label in (LABEL, "io.podman.compose.project=kpidash-ct"):  # the compose test's project
                listed += self.run(kind, "ls", "-aq" if kind == "container" else "-q", "--filter", f"label={label}",
                                   check=False).stdout.split()
            if listed:
                self.run(kind, "rm", "-f", *listed, check=False)
        self.run("network", "rm", "-f", "kpidash-ct_default", check=False)

    # images -----------------------------------------------------------------------------------
    def _debootstrap_image(self, tag: str, packages: tuple[str, ...], change: list[str],
                           prepare: list[list[str]] | None = None) -> None:
        """A Debian image from Debian's own packages: debootstrap into a folder, then podman import."""
        if shutil.which("debootstrap") is None:
            raise Unavailable("debootstrap is not installed (apt-get install debootstrap; .ci/run does it)")
        rootfs = self.cache / "rootfs"
        shutil.rmtree(rootfs, ignore_errors=True)
        made = subprocess.run(
            ["debootstrap", "--variant=minbase", f"--include={','.join(packages)}",
             f"--cache-dir={self.cache / 'debs'}", SUITE, str(rootfs), MIRROR],
            capture_output=True, text=True, timeout=900,
        )
        if made.returncode != 0:
            shutil.rmtree(rootfs, ignore_errors=True)
            tail = "\n".join(made.stdout.splitlines()[-5:] + made.stderr.splitlines()[-5:])
            if "Failed getting release file" in tail or "Couldn't download" in tail or "Temporary failure" in tail:
                raise Unavailable(f"Debian's package mirror {MIRROR} cannot be reached, so no base image can be "
                                  f"made (debootstrap: {tail.splitlines()[-1] if tail else 'failed'})")
            raise AssertionError(f"debootstrap failed:\n{tail}")
        try:
            for command in prepare or []:
                subprocess.run(["chroot", str(rootfs), *command], check=True, capture_output=True, timeout=120)
            # Nothing the image needs at run time: the package lists and downloaded packages.
            for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
                for path in (rootfs / junk).glob("*"):
                    if path.is_file():
                        path.unlink()
            archive = self.cache / "rootfs.tar"
            subprocess.run(["tar", "-C", str(rootfs), "-cf", str(archive), "."], check=True, timeout=300)
            changes = [arg for c in change for arg in ("--change", c)]
            self.run("import", *changes, str(archive), tag, timeout=600)
        finally:
            shutil.rmtree(rootfs, ignore_errors=True)
            (self.cache / "rootfs.tar").unlink(missing_ok=True)

    def base_image(self) -> str:
        tag = f"localhost/kpidash-base:{SUITE}-{_key(SUITE, BASE_PACKAGES)}"
        if not self.image_exists(tag):
            with self.timings.step("base image (debootstrap + import)"):
                self._debootstrap_image(tag, BASE_PACKAGES, ['CMD ["/bin/bash"]'])
        return tag

    def postgres_image(self) -> str:
        """Debian's PostgreSQL on the same kind of base (debootstrap + import, cached by its packages),
        with the entrypoint the compose file expects added by a small offline build on top."""
        base = f"localhost/kpidash-postgres-base:{SUITE}-{_key(SUITE, POSTGRES_PACKAGES)}"
        if not self.image_exists(base):
            with self.timings.step("PostgreSQL base image (debootstrap + import)"):
                self._debootstrap_image(
                    base, POSTGRES_PACKAGES, ['CMD ["/bin/bash"]'],
                    prepare=[
                        # the package's own cluster is not used: the entrypoint makes one on the volume
                        ["sh", "-c", "rm -rf /var/lib/postgresql/[0-9]* /etc/postgresql/[0-9]*"],
                        ["install", "-d", "-o", "postgres", "-g", "postgres", "-m", "700", "/var/lib/postgresql/data"],
                    ],
                )
        context = HERE / "postgres"
        tag = f"localhost/kpidash-postgres:{SUITE}-{_key(base, (context / 'entrypoint.sh').read_text())}"
        if not self.image_exists(tag):
            with self.timings.step("PostgreSQL image (entrypoint)"):
                self.run("build", "--format", "docker", "--network", "none", "--build-arg", f"BASE={base}",
                         "-t", tag, str(context), timeout=600)
        return tag

    def wheelhouse(self) -> Path:
        """Every wheel the image installs, for this pyproject's dependencies at constraints.txt's versions
        (kpidash itself excluded): the image carries the versions the tests ran on."""
        if sys.version_info[:2] != (3, 11):
            raise Unavailable(f"the image's Debian {SUITE} base runs Python 3.11; the wheelhouse is built with this "
                              f"venv's Python {sys.version_info.major}.{sys.version_info.minor}, whose compiled wheels "
                              "would not install there")
        project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
        folder = self.cache / f"wheelhouse-{_key(*wheelhouse_inputs())}"
        if folder.is_dir():
            return folder
        with self.timings.step("wheelhouse (pip wheel)"):
            partial = folder.with_name(folder.name + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            made = subprocess.run(
                [sys.executable, "-m", "pip", "wheel", "--quiet", "--constraint", str(ROOT / "constraints.txt"),
                 "--wheel-dir", str(partial), f"{ROOT}[postgres]", *project["build-system"]["requires"]],
                capture_output=True, text=True, timeout=900,
            )
            if made.returncode != 0:
                shutil.rmtree(partial, ignore_errors=True)
                if "Could not find a version" in made.stderr or "NewConnectionError" in made.stderr:
                    raise Unavailable("the package index cannot be reached, so the image's wheelhouse cannot be made "
                                      f"(pip: {made.stderr.strip().splitlines()[-1]})")
                raise AssertionError(f"pip wheel failed:\n{made.stderr[-3000:]}")
            for own in partial.glob("kpidash-*.whl"):
                own.unlink()
            for old in self.cache.glob("wheelhouse-*"):
                if old != partial:
                    shutil.rmtree(old, ignore_errors=True)
            partial.rename(folder)
        return folder

    def build_context(self, wheelhouse: Path, into: Path) -> Path:
        """The files the Dockerfile copies (by its own COPY lines) and the wheelhouse, as a build context."""
        into.mkdir(parents=True)
        for name in ("Dockerfile", ".dockerignore"):
            shutil.copy2(ROOT / name, into / name)
        for source in dockerfile_copy_sources():
            path = ROOT / source
            if path.is_dir():
                shutil.copytree(path, into / source, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.whl"))
            else:
                shutil.copy2(path, into / source)
        for wheel in wheelhouse.glob("*.whl"):
            os.link(wheel, into / "wheelhouse" / wheel.name)
        return into

    def build_kpidash(self, tag: str, context: Path, base: str) -> None:
        """The project's Dockerfile, offline: the debootstrapped base, every package from the wheelhouse."""
        args = ["--format", "docker", "--network", "none", "--layers",
                "--build-arg", f"BASE_IMAGE={base}", "--build-arg", "PIP_NO_INDEX=1"]
        with self.timings.step("kpidash image build"):
            # the dependency stage under its own name, so that pruning old images keeps its cached layers
            self.run("build", *args, "--target", "dependencies", "-t", "localhost/kpidash-dependencies:cache",
                     str(context), timeout=1200)
            self.run("build", *args, "-t", tag, str(context), timeout=1200)

    def prune(self) -> None:
        """Drop images no tag holds any more (earlier builds of the test image)."""
        self.run("image", "prune", "-f", check=False, timeout=300)

    # containers -------------------------------------------------------------------------------
    def wait_healthy(self, container: str, timeout: float = 120) -> float:
        """Seconds until the image's HEALTHCHECK reports healthy.

        podman schedules health checks with systemd timers; this machine has no systemd, so podman
        says "unable to get systemd connection to add healthchecks" and never runs them by itself. The
        test plays the timer: `podman healthcheck run` makes the engine run the image's own HEALTHCHECK
        command in the container and record the result, and the state is read back from inspect.
        """
        start = time.monotonic()
        while True:
            self.run("healthcheck", "run", container, check=False, timeout=60)
            status = self.health(container)
            if status == "healthy":
                return time.monotonic() - start
            state = self.state(container)
            if time.monotonic() - start > timeout or state in ("exited", "stopped", "dead"):
                logs = self.run("logs", container, check=False)
                raise AssertionError(f"{container} is {status!r} (state {state!r}) after "
                                     f"{time.monotonic() - start:.0f} s:\n{logs.stdout[-2000:]}\n{logs.stderr[-3000:]}")
            time.sleep(1)

    def health(self, container: str) -> str:
        return self.run("inspect", "--format", "{{.State.Health.Status}}", container).stdout.strip()

    def state(self, container: str) -> str:
        return self.run("inspect", "--format", "{{.State.Status}}", container, check=False).stdout.strip()


def wheelhouse_inputs() -> tuple[object, ...]:
    """What the wheelhouse is made from, its cache key: pyproject's dependencies (with the postgres extra and
    the build backend) and constraints.txt's pins, so a new pin makes a new wheelhouse."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return (project["project"]["dependencies"], project["project"]["optional-dependencies"]["postgres"],
            project["build-system"]["requires"], (ROOT / "constraints.txt").read_text(encoding="utf-8"))


def dockerfile_copy_sources() -> list[str]:
    """The build-context paths the Dockerfile's COPY lines name (not those copied between stages)."""
    sources: list[str] = []
    for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
            sources += [w for w in words[1:-1] if not w.startswith("--")]
    return sources


def _quiet(stderr: str) -> str:
    """podman's stderr without its systemd complaints (expected here, see wait_healthy)."""
    return "\n".join(line for line in stderr.splitlines() if "systemd" not in line)[-3000:]
