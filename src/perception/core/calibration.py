# Copyright 2026 The perception authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""Camera calibration files in the ROS camera_calibration (camera_info_manager) YAML format."""

from dataclasses import dataclass, replace
import os
from typing import Callable, List, Optional
from urllib.parse import unquote, urlparse

import yaml

DISTORTION_LENGTHS = {'plumb_bob': (5,), 'rational_polynomial': (8,), 'equidistant': (4,)}


class CalibrationError(ValueError):
    """A calibration file or URL that cannot be used."""


@dataclass(frozen=True)
class CameraCalibration:
    """Intrinsics in the field layout of sensor_msgs/CameraInfo (row-major lists)."""

    width: int
    height: int
    camera_name: str = ''
    distortion_model: str = 'plumb_bob'
    d: tuple = ()
    k: tuple = (0.0,) * 9
    r: tuple = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
    p: tuple = (0.0,) * 12

    @property
    def calibrated(self) -> bool:
        """REP 104: a camera whose K[0] is zero is uncalibrated."""
        return self.k[0] != 0.0

    def scaled_to(self, width: int, height: int) -> 'CameraCalibration':
        """
        Return this calibration for images resized to width x height.

        Raises CalibrationError when the aspect ratio differs, since cropping cannot be inferred.
        """
        if (width, height) == (self.width, self.height) or not self.calibrated:
            return replace(self, width=width, height=height)
        sx, sy = width / self.width, height / self.height
        if abs(sx - sy) > 1e-3 * max(sx, sy):
            raise CalibrationError(
                f'calibration is for {self.width}x{self.height}, images are {width}x{height}: '
                'the aspect ratio differs, so it cannot be scaled')
        k = list(self.k)
        p = list(self.p)
        # The first two rows of K and P are in pixels (P's translation column too, as fx times
        # the baseline), the third is unitless.
        for m, cols in ((k, 3), (p, 4)):
            for c in range(cols):
                m[c] *= sx
                m[cols + c] *= sy
        return replace(self, width=width, height=height, k=tuple(k), p=tuple(p))


def uncalibrated(width: int, height: int, camera_name: str = '') -> CameraCalibration:
    """Return the calibration camera_info_manager publishes for a camera with none: K all zero."""
    return CameraCalibration(width=width, height=height, camera_name=camera_name, d=())


def _matrix(doc: dict, key: str, rows: int, cols: Optional[int], source: str) -> tuple:
    entry = doc.get(key)
    if not isinstance(entry, dict) or 'data' not in entry:
        raise CalibrationError(f'{source}: {key} must be a mapping with rows, cols and data')
    data = entry['data']
    if not isinstance(data, list) or not all(isinstance(v, (int, float)) for v in data):
        raise CalibrationError(f'{source}: {key}.data must be a list of numbers')
    want_rows = entry.get('rows', rows)
    want_cols = entry.get('cols', cols if cols is not None else len(data))
    if (rows is not None and want_rows != rows) or (cols is not None and want_cols != cols):
        raise CalibrationError(f'{source}: {key} must be {rows}x{cols}, '
                               f'the file says {want_rows}x{want_cols}')
    if len(data) != want_rows * want_cols:
        raise CalibrationError(f'{source}: {key} says {want_rows}x{want_cols} but holds '
                               f'{len(data)} values')
    values = tuple(float(v) for v in data)
    if any(v != v or v in (float('inf'), float('-inf')) for v in values):
        raise CalibrationError(f'{source}: {key} holds NaN or infinite values')
    return values


def parse_calibration(text: str, source: str = '<string>') -> CameraCalibration:
    """Parse a camera_calibration YAML document; every error names the source and the key."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CalibrationError(f'{source}: not valid YAML: {exc}') from None
    if not isinstance(doc, dict):
        raise CalibrationError(f'{source}: expected a mapping at the top level')
    for key in ('image_width', 'image_height'):
        if not isinstance(doc.get(key), int) or doc[key] <= 0:
            raise CalibrationError(f'{source}: {key} must be a positive integer')
    model = doc.get('distortion_model', 'plumb_bob')
    d = _matrix(doc, 'distortion_coefficients', 1, None, source)
    if model in DISTORTION_LENGTHS and len(d) not in DISTORTION_LENGTHS[model]:
        raise CalibrationError(f'{source}: {model} takes {DISTORTION_LENGTHS[model][0]} '
                               f'distortion coefficients, the file has {len(d)}')
    k = _matrix(doc, 'camera_matrix', 3, 3, source)
    if k[0] <= 0 or k[4] <= 0:
        raise CalibrationError(f'{source}: camera_matrix has a non-positive focal length')
    r = _matrix(doc, 'rectification_matrix', 3, 3, source) \
        if 'rectification_matrix' in doc else CameraCalibration.r
    if 'projection_matrix' in doc:
        p = _matrix(doc, 'projection_matrix', 3, 4, source)
    else:
        p = (k[0], k[1], k[2], 0.0, k[3], k[4], k[5], 0.0, 0.0, 0.0, 1.0, 0.0)
    return CameraCalibration(width=doc['image_width'], height=doc['image_height'],
                             camera_name=str(doc.get('camera_name', '')),
                             distortion_model=str(model), d=d, k=k, r=r, p=p)


def resolve_url(url: str, camera_name: str = '',
                package_share: Optional[Callable[[str], str]] = None) -> str:
    """
    Turn a camera_info_url into a file path.

    Accepts file:///abs/path, package://pkg/rel/path (package_share maps a package to its share
    directory), and plain paths; ${NAME} is replaced by the camera name and ${ROS_HOME} by
    $ROS_HOME or ~/.ros, as camera_info_manager does.
    """
    ros_home = os.environ.get('ROS_HOME', os.path.join(os.path.expanduser('~'), '.ros'))
    url = url.replace('${NAME}', camera_name).replace('${ROS_HOME}', ros_home)
    parsed = urlparse(url)
    if parsed.scheme == 'file':
        return unquote(parsed.netloc + parsed.path)
    if parsed.scheme == 'package':
        if package_share is None:
            raise CalibrationError(f'{url}: package:// URLs need a package index')
        try:
            share = package_share(parsed.netloc)
        except Exception as exc:  # noqa: B902 - the index's own error type varies by distro
            raise CalibrationError(f'{url}: package {parsed.netloc!r} not found ({exc})') from None
        return os.path.join(share, unquote(parsed.path).lstrip('/'))
    if parsed.scheme in ('', ) or len(parsed.scheme) == 1:  # a plain or Windows-drive path
        return os.path.expanduser(url)
    raise CalibrationError(f'{url}: unsupported URL scheme {parsed.scheme!r} '
                           '(use file://, package:// or a path)')


def load_calibration(url: str, camera_name: str = '',
                     package_share: Optional[Callable[[str], str]] = None) -> CameraCalibration:
    """Read the calibration a camera_info_url names; raises CalibrationError saying why not."""
    path = resolve_url(url, camera_name, package_share)
    try:
        with open(path, encoding='utf-8') as stream:
            text = stream.read()
    except OSError as exc:
        raise CalibrationError(f'{url}: cannot read {path}: {exc.strerror}') from None
    return parse_calibration(text, path)


def calibration_to_yaml(calibration: CameraCalibration) -> str:
    """Write a calibration in the camera_calibration format (for tools and tests)."""
    def mat(rows: int, cols: int, data: List[float]) -> dict:
        return {'rows': rows, 'cols': cols, 'data': list(data)}
    doc = {
        'image_width': calibration.width,
        'image_height': calibration.height,
        'camera_name': calibration.camera_name,
        'camera_matrix': mat(3, 3, calibration.k),
        'distortion_model': calibration.distortion_model,
        'distortion_coefficients': mat(1, len(calibration.d), calibration.d),
        'rectification_matrix': mat(3, 3, calibration.r),
        'projection_matrix': mat(3, 4, calibration.p),
    }
    return yaml.safe_dump(doc, sort_keys=False)
