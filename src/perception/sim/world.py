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
A warehouse scenario as a MuJoCo world: the robot, its sensors and the ground truth.

The robot is a physical body on planar joints (x, y, yaw) driven by velocity actuators with
limited force, so driving into a rack is a contact, not a pass-through. Actors (people and
forklifts, declared in perception.sim.actors) are kinematic (mocap) bodies that walk or drive
their paths. Sensors: an RGB camera with registered depth, segmentation for ground-truth boxes,
and a 2D lidar by ray casting.
"""

from dataclasses import dataclass, field
import math
from typing import Dict, List, Optional, Tuple

import mujoco
import numpy as np

from perception.core import geometry
from perception.core.robot import Camera, Lidar
from perception.sim import robot_model
from perception.sim.actors import actor_type, mjcf_bodies
from perception.sim.layout import CHASSIS_CLEARANCE, floor_and_ceiling, lighting, PHYSICS_DT
from perception.sim.layout import static_primitives
from perception.sim.mjcf import geom, rgb
from perception.sim.robot_model import RobotSpec
from perception.sim.scenario import Actor, position_on_path, Scenario

CONTROL_PERIOD = 0.01  # actors and the drive update at 100 Hz; physics steps between


@dataclass
class CollisionEvent:
    """The robot touching an object."""

    time: float
    name: str
    kind: str
    speed: float


@dataclass
class CameraFrame:
    """What the camera saw at one instant."""

    time: float
    rgb: Optional[np.ndarray] = None
    depth: Optional[np.ndarray] = None  # metres, NaN where nothing within max_depth
    boxes: List[dict] = field(default_factory=list)


def build_mjcf(scenario: Scenario, robot: RobotSpec, camera: Camera, lidar: Lidar) -> str:
    """Write the scenario as an MJCF model."""
    (x0, x1), (y0, y1) = scenario.floor
    pitch = camera.mount.pitch
    sx, cz = math.sin(pitch), math.cos(pitch)
    start_x, start_y, _ = scenario.robot_start
    light = lighting(scenario)
    lights = ''.join(
        f'<light name="{lamp.name}" pos="{lamp.position[0]:.2f} {lamp.position[1]:.2f} '
        f'{lamp.position[2]:g}" dir="{" ".join(f"{d:g}" for d in lamp.direction)}" '
        f'diffuse="{rgb(lamp.diffuse)}" castshadow="false" '
        f'attenuation="{" ".join(f"{a:g}" for a in lamp.attenuation)}" '
        f'cutoff="{math.degrees(lamp.cutoff):g}" exponent="{lamp.exponent:g}"/>'
        for lamp in light.lights)
    floor, ceiling = (geom(p) for p in floor_and_ceiling(scenario))
    statics = ''.join(geom(p) for p in static_primitives(scenario))
    actors = ''.join(''.join(mjcf_bodies(a)) for a in scenario.actors)
    half = (robot.length / 2, robot.width / 2, robot.height / 2)
    return f"""<mujoco model="{scenario.name}">
  <compiler angle="radian"/>
  <option timestep="{PHYSICS_DT}" gravity="0 0 -9.81"/>
  <statistic extent="{max(x1 - x0, y1 - y0):.1f}" center="{(x0 + x1) / 2} {(y0 + y1) / 2} 0"/>
  <visual>
    <global offwidth="{camera.width}" offheight="{camera.height}"/>
    <quality offsamples="0" shadowsize="0"/>
    <headlight ambient="{rgb(light.ambient)}" diffuse="{rgb(light.headlight)}"
               specular="0 0 0"/>
    <map znear="0.02" zfar="{2 * camera.depth_range_max / max(x1 - x0, y1 - y0):.4f}"/>
  </visual>
  <asset>
    <texture name="floor" type="2d" builtin="checker" rgb1="0.55 0.55 0.52"
             rgb2="0.5 0.5 0.47" width="64" height="64"/>
    <material name="floor" texture="floor" texrepeat="{(x1 - x0) / 2:.1f} {(y1 - y0) / 2:.1f}"/>
  </asset>
  <worldbody>
    {lights}
    {floor}
    {ceiling}
    {statics}
    <body name="robot" pos="{start_x} {start_y} 0">
      <joint name="robot_x" type="slide" axis="1 0 0" damping="0"/>
      <joint name="robot_y" type="slide" axis="0 1 0" damping="0"/>
      <joint name="robot_yaw" type="hinge" axis="0 0 1" damping="0"/>
      <geom name="robot:chassis" type="box" pos="0 0 {CHASSIS_CLEARANCE + half[2]}"
            size="{half[0]} {half[1]} {half[2]}" mass="{robot.mass}" rgba="0.9 0.9 0.9 1"/>
      <camera name="robot_camera" pos="{camera.mount.x} 0 {camera.mount.z}"
              fovy="{camera.fovy_deg}"
              xyaxes="0 -1 0 {sx:.6f} 0 {cz:.6f}"/>
      <site name="lidar" pos="{lidar.mount.x} 0 {lidar.mount.z}" size="0.03"/>
    </body>
    {actors}
  </worldbody>
  <actuator>
    <velocity name="drive_x" joint="robot_x" kv="{40 * robot.mass}"
              forcerange="-{15 * robot.mass} {15 * robot.mass}"/>
    <velocity name="drive_y" joint="robot_y" kv="{40 * robot.mass}"
              forcerange="-{15 * robot.mass} {15 * robot.mass}"/>
    <velocity name="drive_yaw" joint="robot_yaw" kv="{10 * robot.mass}"
              forcerange="-{5 * robot.mass} {5 * robot.mass}"/>
  </actuator>
</mujoco>"""


def _can_read_both(renderer) -> bool:
    """Tell whether a renderer shows what a single colour-and-depth pass needs (EGL, OSMesa)."""
    return all(hasattr(renderer, name) for name in ('_rect', '_scene', '_mjr_context',
                                                    '_gl_context')) and \
        renderer._gl_context is not None and not renderer._scene.camera[0].orthographic


class ActorState:
    """Where an actor is along its path."""

    def __init__(self, actor: Actor):
        self.actor = actor
        self.type = actor_type(actor.kind)
        self.started_at: Optional[float] = None
        self.travelled = 0.0
        self.pose = (actor.path[0][0], actor.path[0][1],
                     position_on_path(actor.path, 0.0)[2])
        self.speed = 0.0


class World:
    """A running scenario: step it, command the robot, read its sensors and ground truth."""

    def __init__(self, scenario: Scenario, robot: Optional[RobotSpec] = None,
                 camera: Optional[Camera] = None, lidar: Optional[Lidar] = None,
                 seed: int = 0, scan_noise: Optional[float] = None):
        # Left out, the robot is the default one: config/robot.yaml and config/simulator.yaml.
        self.scenario = scenario
        self.robot = robot or robot_model.robot_spec()
        self.camera = camera or robot_model.camera()
        self.lidar = lidar or robot_model.lidar()
        self.scan_noise = robot_model.scan_noise() if scan_noise is None else scan_noise
        robot, camera, lidar = self.robot, self.camera, self.lidar
        self.rng = np.random.default_rng(seed)
        self.xml = build_mjcf(scenario, robot, camera, lidar)
        self.model = mujoco.MjModel.from_xml_string(self.xml)
        self.data = mujoco.MjData(self.model)
        m = self.model
        self.robot_body = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, 'robot')
        self.robot_geom = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, 'robot:chassis')
        self.lidar_site = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_SITE, 'lidar')
        self.objects: List[str] = []  # index -> object name
        self.classes: Dict[str, str] = dict(scenario.objects())
        index = {}
        self.geom_object = np.full(m.ngeom, -1, dtype=np.int32)
        for g in range(m.ngeom):
            name = m.geom(g).name
            if name.startswith('obj:'):
                obj = name.split(':')[1]
                if '~carton' in obj:
                    self.classes.setdefault(obj, 'box')
                if obj not in index:
                    index[obj] = len(self.objects)
                    self.objects.append(obj)
                self.geom_object[g] = index[obj]
        self.actors = [ActorState(a) for a in scenario.actors]
        self._mocap = {}
        for body in range(m.nbody):
            if m.body_mocapid[body] >= 0:
                self._mocap[m.body(body).name] = m.body_mocapid[body]
        self.command = (0.0, 0.0)
        self.velocity = (0.0, 0.0)  # commanded after acceleration limits
        self.collisions: List[CollisionEvent] = []
        self._last_touch: Dict[str, float] = {}
        self._next_control = 0.0
        self._renderer = None
        self.light_level = scenario.light_level
        # The slide joints move along world axes; the start heading is the hinge's position.
        self.data.qpos[2] = scenario.robot_start[2]
        self._update_actors(0.0)
        mujoco.mj_forward(m, self.data)

    # --- state -------------------------------------------------------------------------------

    @property
    def time(self) -> float:
        """Return the simulated seconds since the start."""
        return self.data.time

    def pose(self) -> Tuple[float, float, float]:
        """Return the true robot pose x, y, yaw (the odom frame is the world frame)."""
        q = self.data.qpos
        start = self.scenario.robot_start
        return float(start[0] + q[0]), float(start[1] + q[1]), float(q[2])

    def body_velocity(self) -> Tuple[float, float, float]:
        """Return the true robot velocity in its own frame: forward, left, yaw rate."""
        _, _, yaw = self.pose()
        vx, vy, wz = self.data.qvel[:3]
        c, s = math.cos(yaw), math.sin(yaw)
        return float(c * vx + s * vy), float(-s * vx + c * vy), float(wz)

    def robot_footprint(self) -> List[Tuple[float, float]]:
        """Corners of the robot's footprint in the world."""
        x, y, yaw = self.pose()
        return geometry.rectangle((x, y), self.robot.length, self.robot.width, yaw)

    def object_footprints(self) -> Dict[str, List[Tuple[float, float]]]:
        """Footprint of every object, where it is now."""
        out = {o.name: o.footprint() for o in self.scenario.obstacles if o.kind != 'wall'}
        for state in self.actors:
            out[state.actor.name] = state.type.footprint(state.pose)
        return out

    # --- control and stepping ----------------------------------------------------------------

    def set_command(self, linear: float, angular: float) -> None:
        """Set the commanded body velocity (clamped to the robot's limits)."""
        self.command = (max(-self.robot.max_speed, min(self.robot.max_speed, linear)),
                        max(-self.robot.max_yaw_rate, min(self.robot.max_yaw_rate, angular)))

    def _ramp(self, dt: float) -> None:
        v, w = self.velocity
        tv, tw = self.command
        limit = self.robot.max_decel if abs(tv) < abs(v) or tv * v < 0 else self.robot.max_accel
        v += max(-limit * dt, min(limit * dt, tv - v))
        w += max(-self.robot.max_yaw_accel * dt, min(self.robot.max_yaw_accel * dt, tw - w))
        self.velocity = (v, w)
        _, _, yaw = self.pose()
        self.data.ctrl[:3] = (v * math.cos(yaw), v * math.sin(yaw), w)

    def _update_actors(self, now: float) -> None:
        rx, ry, _ = self.pose()
        for state in self.actors:
            a = state.actor
            if state.started_at is None:
                near = a.start_when_robot_within <= 0 or math.hypot(
                    rx - a.path[0][0], ry - a.path[0][1]) <= a.start_when_robot_within
                if now >= a.start_delay_s and near:
                    state.started_at = now
            travelled = 0.0 if state.started_at is None else (now - state.started_at) * a.speed
            x, y, heading = position_on_path(a.path, travelled, a.loop)
            moving = len(a.path) > 1 and (a.loop or travelled < sum(
                math.hypot(q[0] - p[0], q[1] - p[1]) for p, q in zip(a.path, a.path[1:])))
            state.speed = a.speed if state.started_at is not None and moving else 0.0
            state.travelled = travelled
            state.pose = (x, y, heading)
            self._place_actor(state)

    def _place_actor(self, state: ActorState) -> None:
        for body, position, orientation in state.type.body_poses(
                state.actor, state.pose, state.travelled, state.speed > 0):
            mocap = self._mocap[body]
            self.data.mocap_pos[mocap] = position
            self.data.mocap_quat[mocap] = orientation

    def refresh(self) -> None:
        """Recompute positions after the state was set directly (no time passes)."""
        mujoco.mj_forward(self.model, self.data)

    def step(self, duration: float) -> None:
        """Advance the simulation by duration seconds."""
        end = self.data.time + duration - 1e-9
        while self.data.time < end:
            if self.data.time >= self._next_control - 1e-9:
                self._update_actors(self.data.time)
                self._update_lighting(self.data.time)
                self._ramp(CONTROL_PERIOD)
                self._next_control = self.data.time + CONTROL_PERIOD
            mujoco.mj_step(self.model, self.data)
            self._check_contacts()

    def _update_lighting(self, now: float) -> None:
        level = self.scenario.light_level_at(now)
        if level == self.light_level:
            return
        # Lamps and the headlight are read from the model at every render: set them in place.
        light = lighting(self.scenario, level)
        m = self.model
        for lamp in light.lights:
            m.light(lamp.name).diffuse[:] = lamp.diffuse
        m.vis.headlight.ambient[:] = light.ambient
        m.vis.headlight.diffuse[:] = light.headlight
        self.light_level = level

    def _check_contacts(self) -> None:
        touching = set()
        d = self.data
        for geoms in d.contact.geom[:d.ncon]:
            g1, g2 = int(geoms[0]), int(geoms[1])
            if self.robot_geom not in (g1, g2):
                continue
            other = g2 if g1 == self.robot_geom else g1
            obj = self.geom_object[other]
            if obj >= 0:
                touching.add(self.objects[obj])
            else:
                name = self.model.geom(other).name
                touching.add(name.split(':')[1] if name.startswith('obj:') else name)
        for name in touching:
            # One event per contact: a contact that flickers within 0.5 s is the same one.
            if d.time - self._last_touch.get(name, -math.inf) > 0.5:
                v, _, _ = self.body_velocity()
                self.collisions.append(CollisionEvent(d.time, name,
                                                      self.classes.get(name, 'wall'), abs(v)))
            self._last_touch[name] = d.time

    # --- sensors -----------------------------------------------------------------------------

    def scan(self) -> np.ndarray:
        """Lidar ranges (metres, +inf where nothing within range_max), noise included."""
        m, d, spec = self.model, self.data, self.lidar
        origin = d.site_xpos[self.lidar_site].copy()
        _, _, yaw = self.pose()
        angles = spec.angles() + yaw
        vec = np.zeros((spec.beams, 3))
        vec[:, 0] = np.cos(angles)
        vec[:, 1] = np.sin(angles)
        geomid = np.zeros(spec.beams, dtype=np.int32)
        dist = np.zeros(spec.beams)
        mujoco.mj_multiRay(m, d, origin, vec.reshape(-1), None, 1, self.robot_body, geomid, dist,
                           None, spec.beams, spec.range_max)
        ranges = np.where(dist < 0, np.inf, dist)
        if self.scan_noise > 0:
            ranges = ranges + self.rng.normal(0.0, self.scan_noise, spec.beams)
        ranges = np.where(ranges > spec.range_max, np.inf, ranges)
        return np.where(np.isfinite(ranges), np.maximum(ranges, spec.range_min), ranges)

    def render(self, rgb: bool = True, depth: bool = True,
               boxes: bool = False) -> CameraFrame:
        """Render the robot's camera: colour, depth (metres) and ground-truth boxes."""
        if self._renderer is None:
            self._renderer = mujoco.Renderer(self.model, self.camera.height, self.camera.width)
        r = self._renderer
        r.update_scene(self.data, camera='robot_camera')
        frame = CameraFrame(self.data.time)
        if rgb and depth and _can_read_both(r):
            frame.rgb, z = self._render_both(r)
        else:
            if rgb:
                frame.rgb = r.render().copy()
            z = None
            if depth:
                r.enable_depth_rendering()
                z = r.render()
                r.disable_depth_rendering()
        if z is not None:
            frame.depth = np.where(z < self.camera.depth_range_max, z, np.nan).astype(np.float32)
        if boxes:
            r.enable_segmentation_rendering()
            seg = r.render()
            r.disable_segmentation_rendering()
            frame.boxes = self.boxes_from_segmentation(seg)
        return frame

    def _render_both(self, r: 'mujoco.Renderer') -> Tuple[np.ndarray, np.ndarray]:
        """
        Render once and read colour and depth together: half the cost of two passes.

        The depth buffer of the colour pass is the one a depth pass draws (the same geometry;
        a test holds the two to the same values), turned into metres as mujoco.Renderer does.
        """
        height, width = self.camera.height, self.camera.width
        rgb = np.empty((height, width, 3), np.uint8)
        z = np.empty((height, width), np.float32)
        r._gl_context.make_current()
        mujoco.mjr_render(r._rect, r._scene, r._mjr_context)
        mujoco.mjr_readPixels(rgb, z, r._rect, r._mjr_context)
        extent = self.model.stat.extent
        far = np.float32(self.model.vis.map.zfar * extent)
        near = np.float32(self.model.vis.map.znear * extent)
        # The reversed-Z perspective mapping of mujoco.Renderer, in the same precisions.
        c_coef = np.float32(-0.5) * (-(far + near) / (far - near)) - np.float32(0.5)
        d_coef = np.float32(-0.5) * (-(np.float32(2) * far * near) / (far - near))
        metres = (d_coef / (z.astype(np.float64) + c_coef)).astype(np.float32)
        return np.flipud(rgb).copy(), np.flipud(metres)

    def boxes_from_segmentation(self, seg: np.ndarray, min_pixels: int = 20) -> List[dict]:
        """Tight boxes of each object's visible pixels (occlusion respected by construction)."""
        ids = seg[:, :, 0].ravel()
        geom = (seg[:, :, 1].ravel() == int(mujoco.mjtObj.mjOBJ_GEOM)) & (ids >= 0)
        pixels = np.flatnonzero(geom)
        objects = self.geom_object[ids[pixels]]
        keep = objects >= 0
        pixels, objects = pixels[keep], objects[keep]
        if not len(objects):
            return []
        height, width = seg.shape[:2]
        ys, xs = np.divmod(pixels, width)
        # One pass over the pixels: which rows and columns each object occupies.
        count = len(self.objects)
        rows = np.zeros((count, height), bool)
        cols = np.zeros((count, width), bool)
        rows[objects, ys] = True
        cols[objects, xs] = True
        sizes = np.bincount(objects, minlength=count)
        out = []
        for index in np.flatnonzero(sizes >= min_pixels):
            r, c = np.flatnonzero(rows[index]), np.flatnonzero(cols[index])
            name = self.objects[index]
            out.append({'name': name, 'class': self.classes.get(name, 'wall'),
                        'bbox': [int(c[0]), int(r[0]), int(c[-1]) + 1, int(r[-1]) + 1],
                        'pixels': int(sizes[index])})
        return out

    def ground_truth(self) -> dict:
        """Poses, distances from the robot's footprint, and collisions so far."""
        robot = self.robot_footprint()
        x, y, yaw = self.pose()
        v, _, w = self.body_velocity()
        objects = {}
        for name, footprint in self.object_footprints().items():
            entry = {'class': self.classes[name],
                     'distance': round(geometry.polygon_distance(robot, footprint), 4)}
            objects[name] = entry
        for state in self.actors:
            objects[state.actor.name].update(
                {'x': round(state.pose[0], 4), 'y': round(state.pose[1], 4),
                 'yaw': round(state.pose[2], 4), 'speed': state.speed})
        return {'t': round(self.time, 4),
                'robot': {'x': round(x, 4), 'y': round(y, 4), 'yaw': round(yaw, 4),
                          'v': round(v, 4), 'w': round(w, 4)},
                'command': [round(c, 4) for c in self.command],
                'objects': objects, 'collisions': len(self.collisions)}

    def close(self) -> None:
        """Release the renderer's GL context."""
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
