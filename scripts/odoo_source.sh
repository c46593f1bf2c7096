# Finds Odoo 18.0's source tree and exports ODOO_SRC. Sourced by setup.sh (which
# defines say, die and is_root, and MESO_STATE); safe to re-run. In order:
#   1. $ODOO_SRC, when set;
#   2. /opt/odoo (or $MESO_ODOO_DEFAULT), the conventional location;
#   3. a shallow clone of the official 18.0 branch in the per-user cache beside the
#      virtualenv ($MESO_ODOO_CACHE), made once and reused by every checkout.
#      $ODOO_GIT_URL and $ODOO_GIT_BRANCH point it at a mirror.
# Every tree is checked to be 18.0 (odoo/release.py) before it is used.

odoo_is_18() { grep -q "^version_info = (18, 0" "$1/odoo/release.py" 2>/dev/null; }

odoo_where_to_get_it="Get Odoo 18.0 Community (the nightly source tarball, or
'git clone --depth 1 -b 18.0 https://github.com/odoo/odoo') and put it at /opt/odoo, or
point ODOO_SRC at it, or ODOO_GIT_URL at a reachable copy of the repository."

if [ -n "${ODOO_SRC:-}" ]; then
  [ -f "$ODOO_SRC/odoo/release.py" ] || die "No Odoo source tree at '$ODOO_SRC' (ODOO_SRC). $odoo_where_to_get_it"
  odoo_is_18 "$ODOO_SRC" || die "The Odoo tree at '$ODOO_SRC' is not 18.0 (see its odoo/release.py)."
else
  odoo_default=${MESO_ODOO_DEFAULT:-/opt/odoo}
  odoo_cache=${MESO_ODOO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/meso_inventory/odoo-18.0}
  if [ -f "$odoo_default/odoo/release.py" ]; then
    odoo_is_18 "$odoo_default" || die "The Odoo tree at '$odoo_default' is not 18.0 (see its odoo/release.py)."
    ODOO_SRC=$odoo_default
  elif odoo_is_18 "$odoo_cache"; then
    ODOO_SRC=$odoo_cache
  else
    odoo_url=${ODOO_GIT_URL:-https://github.com/odoo/odoo.git}
    odoo_branch=${ODOO_GIT_BRANCH:-18.0}
    if ! command -v git >/dev/null && is_root; then
      say "Installing git from Debian, to fetch Odoo"
      DEBIAN_FRONTEND=noninteractive apt-get update -qq && apt-get install -y -qq git >/dev/null
    fi
    command -v git >/dev/null || die "No Odoo source tree at '$odoo_default', and git is missing to fetch one. $odoo_where_to_get_it"
    say "No Odoo source tree at $odoo_default: cloning Odoo $odoo_branch from $odoo_url into $odoo_cache (once for every checkout)"
    mkdir -p "$(dirname "$odoo_cache")"
    rm -rf "$odoo_cache.partial"
    if ! git clone -q --depth 1 --branch "$odoo_branch" "$odoo_url" "$odoo_cache.partial" 2>"$MESO_STATE/odoo-clone.log"; then
      rm -rf "$odoo_cache.partial"
      die "Could not clone Odoo $odoo_branch from $odoo_url (offline, or a wrong URL: $MESO_STATE/odoo-clone.log). $odoo_where_to_get_it"
    fi
    if ! odoo_is_18 "$odoo_cache.partial"; then
      rm -rf "$odoo_cache.partial"
      die "The tree cloned from $odoo_url ($odoo_branch) is not Odoo 18.0 (see its odoo/release.py): not used."
    fi
    rm -rf "$odoo_cache"
    mv "$odoo_cache.partial" "$odoo_cache"
    ODOO_SRC=$odoo_cache
  fi
fi
export ODOO_SRC
