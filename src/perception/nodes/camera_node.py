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

"""
Camera capture node: a V4L2 device, GStreamer pipeline, video file, stream or test pattern.

Publishes camera/image_raw and camera/camera_info (sensor-data QoS) and /diagnostics. A capture
thread keeps only the newest frame and stamps it when the source returns it; the executor
publishes it as soon as the thread signals, so nothing queues. A source that fails is reported
as ERROR and reopened with exponential backoff; the node never exits because a camera went away.
"""

import time

from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from perception import diagnostics
from perception.conversions import calibration_to_camera_info, numpy_to_image, stamp_from_ns
from perception.core.backoff import Backoff
from perception.core.calibration import CalibrationError, load_calibration, uncalibrated
from perception.core.capture import CaptureSettings, CaptureWorker, SOURCE_KINDS
from perception.core.rate import RateMeter
from perception.node_main import run_node
from perception.params import declare_parameters, package_share_of, ParamSpec
from perception.qos import SENSOR_QOS

PARAMS = [
    ParamSpec('source', 'Where frames come from.', choices=SOURCE_KINDS),
    ParamSpec('uri', 'v4l2: device index, /dev/videoN or /dev/v4l/by-id path; gstreamer: '
              'pipeline (an appsink keeping only the newest buffer is ensured); file: path; '
              'stream: rtsp:// or http:// URL; unused for synthetic.'),
    ParamSpec('width', 'Published image width in pixels; frames of another size are resized.',
              min_value=16, max_value=7680),
    ParamSpec('height', 'Published image height in pixels.', min_value=16, max_value=4320),
    ParamSpec('fps', 'Frame rate: asked of a device, paced for a file or the test pattern.',
              min_value=0.1, max_value=240.0),
    ParamSpec('encoding', 'Encoding of camera/image_raw.', choices=('bgr8', 'rgb8')),
    ParamSpec('frame_id', 'Frame of the optical centre (REP 103 optical: z forward, x right).'),
    ParamSpec('camera_name', 'Camera name, used for ${NAME} in camera_info_url.'),
    ParamSpec('camera_info_url', 'Calibration in camera_calibration YAML: file://, package:// '
              'or a path; empty publishes an uncalibrated CameraInfo (K all zero).'),
    ParamSpec('loop', 'file: start over at the end instead of reporting the end as an error.'),
    ParamSpec('fourcc', 'v4l2: pixel format to ask the driver for (e.g. MJPG); empty keeps '
              "the driver's."),
    ParamSpec('open_timeout_s', 'stream and file: how long opening or reading may block.',
              min_value=0.5, max_value=60.0),
    ParamSpec('reconnect_initial_s', 'First wait before reopening a failed source.',
              min_value=0.05, max_value=60.0),
    ParamSpec('reconnect_max_s', 'Longest wait between reopening attempts.',
              min_value=0.1, max_value=600.0),
    ParamSpec('diagnostics_period_s', 'Period of the /diagnostics report.',
              min_value=0.1, max_value=10.0),
    ParamSpec('rate_warn_fraction', 'WARN when the published rate falls below this fraction of '
              'fps.', min_value=0.0, max_value=1.0),
]


class CameraNode(Node):
    """Publishes frames from a capture source with their calibration and diagnostics."""

    def __init__(self, **kwargs):
        self.worker = None  # rclpy destroys a node whose __init__ raised; see destroy_node
        super().__init__('camera', **kwargs)
        p = declare_parameters(self, PARAMS, 'camera.yaml')
        self.settings = CaptureSettings(
            source=p['source'], uri=p['uri'], width=p['width'], height=p['height'],
            fps=p['fps'], encoding=p['encoding'], loop=p['loop'], fourcc=p['fourcc'],
            timeout_s=p['open_timeout_s'])
        self.settings.validate()
        if p['reconnect_max_s'] < p['reconnect_initial_s']:
            raise ValueError('reconnect_max_s must not be shorter than reconnect_initial_s')
        self.frame_id = p['frame_id']
        self.rate_warn_fraction = p['rate_warn_fraction']
        self.calibration, self.calibration_status = self._load_calibration(
            p['camera_info_url'], p['camera_name'])
        self.published = 0
        self.rate = RateMeter(window=2.0)

        self.image_pub = self.create_publisher(Image, 'camera/image_raw', SENSOR_QOS)
        self.info_pub = self.create_publisher(CameraInfo, 'camera/camera_info', SENSOR_QOS)
        self.diagnostics = diagnostics.DiagnosticsPublisher(self)
        # The capture thread only triggers this; publishing runs on the executor's thread.
        self._frame_ready = self.create_guard_condition(self._publish_newest)
        self.worker = CaptureWorker(
            self.settings, clock_ns=lambda: self.get_clock().now().nanoseconds,
            on_frame=self._frame_ready.trigger,
            backoff=Backoff(p['reconnect_initial_s'], p['reconnect_max_s']))
        self.create_timer(p['diagnostics_period_s'], self._report)
        self.worker.start()
        self.get_logger().info(
            f'capturing {self.settings.source} {self.settings.uri} at '
            f'{self.settings.width}x{self.settings.height} {self.settings.fps:g} Hz '
            f'({self.calibration_status.message})')

    def _load_calibration(self, url: str, camera_name: str):
        width, height = self.settings.width, self.settings.height
        if not url:
            return (uncalibrated(width, height, camera_name),
                    diagnostics.Status('calibration', diagnostics.WARN,
                                       'uncalibrated: camera_info_url is empty'))
        try:
            calibration = load_calibration(url, camera_name, package_share_of)
            calibration = calibration.scaled_to(width, height)
        except CalibrationError as exc:
            self.get_logger().error(f'calibration not used: {exc}')
            return (uncalibrated(width, height, camera_name),
                    diagnostics.Status('calibration', diagnostics.ERROR, f'not used: {exc}',
                                       {'camera_info_url': url}))
        return calibration, diagnostics.Status('calibration', diagnostics.OK,
                                               f'calibrated from {url}', {'camera_info_url': url})

    def _publish_newest(self) -> None:
        frame = self.worker.take()
        if frame is None:
            return
        header = Header(stamp=stamp_from_ns(frame.stamp_ns), frame_id=self.frame_id)
        self.image_pub.publish(numpy_to_image(frame.image, self.settings.encoding, header))
        self.info_pub.publish(calibration_to_camera_info(self.calibration, header))
        self.published += 1
        self.rate.tick(time.monotonic())

    def _report(self) -> None:
        status = self.worker.status()
        rate = self.rate.rate(time.monotonic())
        values = {
            'source': status.source, 'state': status.state,
            'configured_rate_hz': self.settings.fps, 'measured_rate_hz': rate,
            'frames_published': self.published, 'frames_captured': status.frames_captured,
            'frames_dropped': status.frames_dropped, 'reconnects': status.reconnects,
            'resized': status.resized, 'last_error': status.error,
        }
        if status.state == CaptureWorker.ERROR:
            level, message = diagnostics.ERROR, f'{status.error}; reconnecting'
        elif status.state != CaptureWorker.STREAMING:
            level, message = diagnostics.WARN, f'{status.state.lower()} to {status.source}'
        elif rate < self.rate_warn_fraction * self.settings.fps:
            level, message = diagnostics.WARN, (f'publishing {rate:.1f} Hz of '
                                                f'{self.settings.fps:g} Hz configured')
        else:
            level, message = diagnostics.OK, f'streaming at {rate:.1f} Hz'
        self.diagnostics.hardware_id = status.source
        self.diagnostics.publish([diagnostics.Status('capture', level, message, values),
                                  self.calibration_status])

    def destroy_node(self):
        if self.worker is not None:
            self.worker.stop()
        return super().destroy_node()


def main(args=None):
    raise SystemExit(run_node(CameraNode, args))


if __name__ == '__main__':
    main()
