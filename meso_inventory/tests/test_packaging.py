"""How the addon reaches a clinic's Odoo: the source tree the scripts find or fetch,
the wheel OCA-style, and the upgrade from the previous version with its data.

Each test drives real programs (git, pip, odoo-bin) in a temporary directory and a
database of its own, which it drops; none uses the test database. Tagged
`meso_packaging` (about four minutes, and pip needs the package index)."""

import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import odoo
from odoo.tests import BaseCase, tagged
from odoo.tools import config

from .common import drop_database

ROOT = Path(__file__).resolve().parents[2]
ODOO_SRC = Path(odoo.__file__).resolve().parents[1]


def _version(manifest_text):
    return manifest_text.split('"version": "')[1].split('"')[0]


def _run(command, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    return result.returncode, result.stdout + result.stderr


def _git(*args, cwd):
    code, output = _run(["git", *args], cwd=cwd)
    assert code == 0, output
    return output.strip()


def _odoo_source(env):
    """Source scripts/odoo_source.sh as setup.sh does; (exit code, ODOO_SRC, messages)."""
    script = (
        'say() { echo "$*" >&2; }; die() { echo "$*" >&2; exit 1; }; is_root() { false; }; '
        f'source "{ROOT}/scripts/odoo_source.sh"; echo "$ODOO_SRC"'
    )
    result = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=env, check=False
    )
    return result.returncode, result.stdout.strip(), result.stderr


def _bare_repository(tmp, name, release):
    """A bare repository with one commit on branch 18.0: Odoo's release.py as given."""
    work = tmp / f"{name}-work"
    (work / "odoo").mkdir(parents=True)
    (work / "odoo" / "release.py").write_text(release, encoding="utf-8")
    _git("init", "-q", "-b", "18.0", cwd=work)
    _git("add", "-A", cwd=work)
    _git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "init", cwd=work)
    _git("clone", "-q", "--bare", str(work), str(tmp / f"{name}.git"), cwd=tmp)
    return f"file://{tmp / f'{name}.git'}"


def _setup_fetches_odoo_once_verified_and_refuses_another_version():
    release = (ODOO_SRC / "odoo" / "release.py").read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        (tmp / "state").mkdir()
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("ODOO_SRC", "ODOO_GIT_URL", "ODOO_GIT_BRANCH")
        }
        env.update(
            MESO_STATE=str(tmp / "state"),
            MESO_ODOO_DEFAULT=str(tmp / "opt-odoo"),  # nothing there
            MESO_ODOO_CACHE=str(tmp / "cache" / "odoo-18.0"),
            ODOO_GIT_URL=_bare_repository(tmp, "odoo", release),
        )
        code, found, said = _odoo_source(env)
        assert code == 0, said
        assert found == env["MESO_ODOO_CACHE"]
        assert "cloning Odoo 18.0" in said
        assert (Path(found) / "odoo" / "release.py").read_text(encoding="utf-8") == release
        # reused by every later run, without the network
        env["ODOO_GIT_URL"] = f"file://{tmp / 'gone.git'}"
        code, again, said = _odoo_source(env)
        assert (code, again, said) == (0, found, "")
        # a tree that is not 18.0 is refused, and nothing is kept of it
        env["MESO_ODOO_CACHE"] = str(tmp / "cache2" / "odoo-18.0")
        env["ODOO_GIT_URL"] = _bare_repository(
            tmp, "odoo17", release.replace("version_info = (18, 0", "version_info = (17, 0")
        )
        code, _found, said = _odoo_source(env)
        assert code == 1
        assert "is not Odoo 18.0" in said
        assert not Path(env["MESO_ODOO_CACHE"]).exists()
        # offline: a clear message
        env["ODOO_GIT_URL"] = f"file://{tmp / 'gone.git'}"
        code, _found, said = _odoo_source(env)
        assert code == 1
        assert "Could not clone Odoo 18.0" in said and "ODOO_SRC" in said
        # ODOO_SRC still wins, and is checked
        env["ODOO_SRC"] = str(tmp / "odoo17-work")
        code, _found, said = _odoo_source(env)
        assert code == 1 and "is not 18.0" in said


def _db_options():
    return [
        f"--db_host={config['db_host'] or 'localhost'}",
        f"--db_port={config['db_port'] or 5432}",
        f"--db_user={config['db_user']}",
        f"--db_password={config['db_password']}",
    ]


def _query(database, sql):
    with odoo.sql_db.db_connect(database).cursor() as cr:
        cr.execute(sql)
        return cr.fetchall()


def _assert_clean_log(code, output, what):
    assert code == 0, f"{what} failed:\n{output[-4000:]}"
    errors = [line for line in output.splitlines() if " ERROR " in line or " CRITICAL " in line]
    assert not errors, f"{what} logged errors:\n" + "\n".join(errors[:20])


def _wheel_installs_into_an_odoo_environment_without_addons_path():
    database = "meso_wheel_test"
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        # built from a clean checkout of what is committed, as OCA builds its wheels
        _git("clone", "-q", str(ROOT), str(tmp / "src"), cwd=tmp)
        code, output = _run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--no-deps",
                "-q",
                "-w",
                str(tmp / "dist"),
                str(tmp / "src" / "meso_inventory"),
            ]
        )
        assert code == 0, output
        (wheel,) = (tmp / "dist").glob("odoo_addon_meso_inventory-18.0.*.whl")
        manifest = (tmp / "src" / "meso_inventory" / "__manifest__.py").read_text()
        assert f"-{_version(manifest)}" in wheel.name
        # a fresh virtualenv with Odoo installed from its source tree, as a clinic's is
        venv = tmp / "venv"
        python = str(venv / "bin" / "python")
        constraints = tmp / "constraints.txt"
        constraints.write_text("setuptools<70\n")
        for command in (
            [sys.executable, "-m", "venv", str(venv)],
            [python, "-m", "pip", "install", "-q", "--upgrade", "pip>=25.3"],
            [
                python,
                "-m",
                "pip",
                "install",
                "-q",
                "--build-constraint",
                str(constraints),
                "-r",
                str(ODOO_SRC / "requirements.txt"),
            ],
            # compat mode puts the source tree on sys.path, where its regular `odoo`
            # package wins over the `odoo/addons` directory the wheel creates
            [
                python,
                "-m",
                "pip",
                "install",
                "-q",
                "--no-deps",
                "--config-settings",
                "editable_mode=compat",
                "-e",
                str(ODOO_SRC),
            ],
            [python, "-m", "pip", "install", "-q", str(wheel)],
        ):
            code, output = _run(command)
            assert code == 0, f"{command}:\n{output[-4000:]}"
        code, location = _run(
            [python, "-c", "import odoo.addons.meso_inventory as m; print(m.__file__)"]
        )
        assert code == 0 and str(venv) in location, location
        # installed on a new database, with only Odoo's own addons on the path
        drop_database(database)
        try:
            code, output = _run(
                [
                    python,
                    str(ODOO_SRC / "odoo-bin"),
                    *_db_options(),
                    "-d",
                    database,
                    f"--addons-path={ODOO_SRC / 'addons'},{ODOO_SRC / 'odoo' / 'addons'}",
                    f"--data-dir={tmp / 'data'}",
                    "-i",
                    "meso_inventory",
                    "--without-demo=all",
                    "--stop-after-init",
                    "--log-level=warn",
                    "--no-http",
                ]
            )
            _assert_clean_log(code, output, "installing the wheel's module")
            assert _query(
                database, "SELECT state FROM ir_module_module WHERE name = 'meso_inventory'"
            ) == [("installed",)]
        finally:
            drop_database(database)


def _previous_version(tmp):
    """The addon as it was released before this version (the changelog's second entry),
    from git history: the parent of the commit that moved the manifest off it."""
    if not (ROOT / ".git").exists():
        raise unittest.SkipTest("not a git checkout: the previous version cannot be read")
    history = (ROOT / "meso_inventory" / "readme" / "HISTORY.md").read_text(encoding="utf-8")
    versions = [line.split()[1] for line in history.splitlines() if line.startswith("## 18.0.")]
    manifest = "meso_inventory/__manifest__.py"
    left = _git(
        "log", "-1", "--format=%H", f'-S"version": "{versions[1]}"', "--", manifest, cwd=ROOT
    )
    assert left, f"no commit of the history moves the manifest off {versions[1]}"
    previous = f"{left}^"
    old = tmp / "old"
    old.mkdir()
    archive = subprocess.run(
        ["git", "archive", previous, "meso_inventory"], cwd=ROOT, capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
    old_manifest = _git("show", f"{previous}:{manifest}", cwd=ROOT)
    assert _version(old_manifest) == versions[1]
    return old, old_manifest


def _upgrade_from_the_previous_version_keeps_every_record():
    database = "meso_upgrade_test"
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        old, old_manifest = _previous_version(tmp)
        odoo_bin = [
            sys.executable,
            str(ODOO_SRC / "odoo-bin"),
            *_db_options(),
            "-d",
            database,
            f"--data-dir={tmp / 'data'}",
            "--stop-after-init",
            "--log-level=warn",
            "--no-http",
            "--max-cron-threads=0",
        ]
        core = f"{ODOO_SRC / 'addons'},{ODOO_SRC / 'odoo' / 'addons'}"
        drop_database(database)
        try:
            # the previous version, with its demo data: sessions, ledger, quants
            code, output = _run([*odoo_bin, f"--addons-path={core},{old}", "-i", "meso_inventory"])
            _assert_clean_log(code, output, "installing the previous version")
            counts = """
                SELECT (SELECT count(*) FROM meso_patient),
                       (SELECT count(*) FROM meso_treatment_session),
                       (SELECT count(*) FROM meso_treatment_session WHERE state = 'done'),
                       (SELECT count(*) FROM meso_treatment_session_line),
                       (SELECT count(*) FROM meso_treatment_consumption),
                       (SELECT sum(volume_ml) FROM meso_treatment_consumption),
                       (SELECT count(*) FROM meso_opened_vial),
                       (SELECT count(*) FROM stock_lot),
                       (SELECT array_agg(ARRAY[lot_id, location_id, quantity::int] ORDER BY id)
                          FROM stock_quant WHERE lot_id IS NOT NULL)"""
            before = _query(database, counts)
            assert before[0][4] > 0, "the previous version's demo has no ledger"
            # upgraded to this version
            code, output = _run([*odoo_bin, f"--addons-path={core},{ROOT}", "-u", "meso_inventory"])
            _assert_clean_log(code, output, "upgrading to this version")
            after = _query(database, counts)
            # the clinical record and its ledger are kept whole; the stock may move (this
            # version's demo data, loaded by the upgrade, recalls a lot into quarantine)
            assert after[0][:7] == before[0][:7], (before, after)
            assert after[0][7] >= before[0][7]
            current = _version((ROOT / "meso_inventory" / "__manifest__.py").read_text())
            assert _version(old_manifest) != current
            assert _query(
                database,
                "SELECT latest_version FROM ir_module_module WHERE name = 'meso_inventory'",
            ) == [(current,)]
            # what the migration moves: opened vials to the clinic where they were
            # opened, each clinic consuming into its own place, GS1 scanning
            assert _query(
                database,
                """SELECT count(*) FROM meso_opened_vial v
                     JOIN meso_treatment_session s ON s.id = v.session_id
                    WHERE v.warehouse_id IS DISTINCT FROM s.warehouse_id""",
            ) == [(0,)]
            assert _query(
                database,
                """SELECT count(*) FROM stock_warehouse w
                     LEFT JOIN stock_picking_type t ON t.id = w.meso_consumption_type_id
                    WHERE w.meso_consumption_location_id IS NULL
                       OR t.default_location_dest_id IS DISTINCT FROM
                          w.meso_consumption_location_id""",
            ) == [(0,)]
            assert _query(
                database,
                """SELECT count(*) FROM res_company c
                     JOIN barcode_nomenclature n ON n.id = c.nomenclature_id
                    WHERE NOT n.is_gs1_nomenclature""",
            ) == [(0,)]
        finally:
            drop_database(database)


@tagged("post_install", "-at_install", "meso_packaging")
class TestPackaging(BaseCase):
    def test_setup_fetches_odoo_once_verified_and_refuses_another_version(self):
        _setup_fetches_odoo_once_verified_and_refuses_another_version()

    def test_wheel_installs_into_an_odoo_environment_without_addons_path(self):
        _wheel_installs_into_an_odoo_environment_without_addons_path()

    def test_upgrade_from_the_previous_version_keeps_every_record(self):
        _upgrade_from_the_previous_version_keeps_every_record()
