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
Labelled training images from randomized warehouse scenes, in the YOLO format.

Each scene draws a layout (racks, pallets, boxes), people and forklifts, colours, lighting and
a camera (height, tilt, field of view) from one random generator seeded by the caller, so the
same seed gives the same dataset. Several views are rendered per scene; labels come from the
segmentation rendering, so they are tight and respect occlusion.

Layout written:
    images/{train,val}/NNNNNN.jpg, labels/{train,val}/NNNNNN.txt  (class cx cy w h, normalized)
    data.yaml (Ultralytics-style: path, train, val, names) and manifest.json
"""

import dataclasses
import json
import math
import os
from typing import List

import cv2
import numpy as np

from perception.core.robot import Camera, Lidar
from perception.core.sensor_points import Mount
from perception.sim.scenario import Actor, check_layout, DETECTION_CLASSES, Obstacle, Route
from perception.sim.scenario import Scenario, ScenarioError
from perception.sim.world import World

PERSON_COLORS = ((0.95, 0.85, 0.1), (0.95, 0.45, 0.05), (0.15, 0.25, 0.7), (0.3, 0.3, 0.3),
                 (0.6, 0.1, 0.1), (0.1, 0.45, 0.2), (0.85, 0.85, 0.85))
FORKLIFT_COLORS = ((0.95, 0.7, 0.1), (0.9, 0.35, 0.05), (0.7, 0.1, 0.1), (0.1, 0.3, 0.7))
RACK_COLORS = ((0.15, 0.25, 0.55), (0.9, 0.45, 0.1), (0.35, 0.35, 0.38), (0.1, 0.4, 0.3))
BOX_COLORS = ((0.65, 0.5, 0.3), (0.75, 0.6, 0.4), (0.85, 0.85, 0.8), (0.3, 0.4, 0.65),
              (0.55, 0.4, 0.25))


def random_scene(rng: np.random.Generator, index: int, hard_cases: bool = False) -> Scenario:
    """
    Draw a warehouse aisle with clutter, people and forklifts.

    With hard_cases, more people, some of them half hidden at the ends of racks and behind
    loaded pallets, crouching or far down the aisle: the cases a detector misses most. (They
    are drawn after everything else, so a seed gives the same scene otherwise.)
    """
    for _ in range(50):
        scene = _draw_scene(rng, index)
        if hard_cases:
            scene = _add_hard_people(scene, rng)
        try:
            check_layout(scene)
            return scene
        except ScenarioError:
            continue  # objects drawn on top of each other: draw again
    raise RuntimeError('could not draw a valid scene in 50 tries')  # pragma: no cover


def _draw_scene(rng: np.random.Generator, index: int) -> Scenario:
    length = float(rng.uniform(18, 30))
    aisle = float(rng.uniform(2.6, 4.0))
    depth = float(rng.uniform(0.8, 1.2))
    half = aisle / 2 + depth + 1.2
    obstacles: List[Obstacle] = []
    color = RACK_COLORS[rng.integers(len(RACK_COLORS))]
    for side in (1, -1):
        x = 0.5
        while x < length - 3:
            rack_len = float(rng.uniform(2.5, 6.0))
            if x + rack_len > length - 0.5:
                break
            center = (x + rack_len / 2, side * (aisle / 2 + depth / 2))
            obstacles.append(Obstacle(
                f'rack_{len(obstacles)}', 'rack', center,
                (rack_len, depth, float(rng.uniform(1.8, 3.2))), 0.0, color,
                levels=int(rng.integers(2, 6))))
            x += rack_len + float(rng.choice([0.0, rng.uniform(1.2, 2.5)]))
    for i in range(int(rng.integers(0, 5))):
        obstacles.append(Obstacle(
            f'pallet_{i}', 'pallet', (float(rng.uniform(2, length - 2)),
                                      float(rng.uniform(-aisle / 2 + 0.6, aisle / 2 - 0.6))),
            (1.2, 0.8, 0.144), float(rng.uniform(0, math.pi)), (0.6, 0.45, 0.25),
            load_height=float(rng.choice([0.0, rng.uniform(0.3, 1.3)]))))
    for i in range(int(rng.integers(0, 7))):
        size = tuple(float(v) for v in rng.uniform(0.2, 0.7, 3))
        obstacles.append(Obstacle(
            f'box_{i}', 'box', (float(rng.uniform(1, length - 1)),
                                float(rng.uniform(-aisle / 2 + 0.4, aisle / 2 - 0.4))),
            size, float(rng.uniform(0, math.pi)), BOX_COLORS[rng.integers(len(BOX_COLORS))]))
    actors = []
    for i in range(int(rng.integers(1, 6))):  # people matter most: most scenes have several
        x, y = float(rng.uniform(1, length - 1)), float(rng.uniform(-aisle / 2, aisle / 2))
        heading = float(rng.uniform(-math.pi, math.pi))
        actors.append(Actor(f'person_{i}', 'person',
                            ((x, y), (x + math.cos(heading), y + math.sin(heading))),
                            1.2, color=PERSON_COLORS[rng.integers(len(PERSON_COLORS))],
                            height=float(rng.uniform(1.55, 1.95))))
    for i in range(int(rng.integers(0, 3))):
        x, y = float(rng.uniform(3, length - 3)), float(rng.uniform(-aisle / 2, aisle / 2))
        heading = float(rng.uniform(-math.pi, math.pi))
        actors.append(Actor(f'forklift_{i}', 'forklift',
                            ((x, y), (x + math.cos(heading), y + math.sin(heading))), 1.5,
                            color=FORKLIFT_COLORS[rng.integers(len(FORKLIFT_COLORS))]))
    floor = ((-3.0, length + 3.0), (-half, half))
    return Scenario(f'random_{index}', 'randomized scene', 1.0, floor,
                    float(rng.uniform(0.2, 1.3)), tuple(obstacles), (0.0, 0.0, 0.0),
                    Route(((1.0, 0.0),), 0.0), tuple(actors), f'random scene {index}')


def _add_hard_people(scene: Scenario, rng: np.random.Generator) -> Scenario:
    """Add people where detectors miss them: half hidden, crouching, far away."""
    (x0, x1), (y0, y1) = scene.floor
    racks = [o for o in scene.obstacles if o.kind == 'rack']
    loaded = [o for o in scene.obstacles if o.kind == 'pallet' and o.load_height > 0.3]
    actors = list(scene.actors)
    for i in range(int(rng.integers(1, 5))):
        choice = rng.random()
        if choice < 0.4 and racks:  # stepping out at the end of a rack, half behind it
            rack = racks[int(rng.integers(len(racks)))]
            end = rack.center[0] + rng.choice([-1, 1]) * (rack.size[0] / 2 + 0.25)
            side = np.sign(rack.center[1]) or 1.0
            x, y = float(end), float(rack.center[1] - side * rng.uniform(0.2, 0.7))
        elif choice < 0.6 and loaded:  # behind a loaded pallet
            pallet = loaded[int(rng.integers(len(loaded)))]
            x = float(pallet.center[0] + rng.choice([-1, 1]) * rng.uniform(0.9, 1.3))
            y = float(pallet.center[1] + rng.uniform(-0.4, 0.4))
        else:  # anywhere, often far down the aisle
            x, y = float(rng.uniform(x0 + 4, x1 - 1)), float(rng.uniform(-1.2, 1.2))
        heading = float(rng.uniform(-math.pi, math.pi))
        height = float(rng.uniform(1.05, 1.4)) if rng.random() < 0.2 else \
            float(rng.uniform(1.5, 2.0))  # crouching, or standing
        actors.append(Actor(f'hard_person_{i}', 'person',
                            ((x, y), (x + math.cos(heading), y + math.sin(heading))), 1.2,
                            color=PERSON_COLORS[rng.integers(len(PERSON_COLORS))],
                            height=height))
    return dataclasses.replace(scene, actors=tuple(actors))


def yolo_lines(boxes: List[dict], width: int, height: int, min_pixels: int = 40) -> List[str]:
    """YOLO label lines (class cx cy w h, normalized) of the boxes of detection classes."""
    lines = []
    for box in boxes:
        if box['class'] not in DETECTION_CLASSES or box['pixels'] < min_pixels:
            continue
        x0, y0, x1, y1 = box['bbox']
        lines.append(f'{DETECTION_CLASSES.index(box["class"])} {(x0 + x1) / 2 / width:.6f} '
                     f'{(y0 + y1) / 2 / height:.6f} {(x1 - x0) / width:.6f} '
                     f'{(y1 - y0) / height:.6f}')
    return lines


def export_dataset(out: str, images: int, seed: int = 0, val_fraction: float = 0.2,
                   width: int = 640, height: int = 480, views_per_scene: int = 4,
                   progress: bool = True, first_index: int = 0,
                   hard_cases: bool = False) -> dict:
    """Render `images` labelled images into out; return the manifest."""
    if images <= 0:
        raise ValueError('images must be positive')
    if not 0 <= val_fraction < 1:
        raise ValueError('val_fraction must be in [0, 1)')
    rng = np.random.default_rng(seed)
    for split in ('train', 'val'):
        os.makedirs(os.path.join(out, 'images', split), exist_ok=True)
        os.makedirs(os.path.join(out, 'labels', split), exist_ok=True)
    bar = _progress(images, progress)
    entries, counts = [], dict.fromkeys(DETECTION_CLASSES, 0)
    index, scene_index = 0, 0
    while index < images:
        scene = random_scene(rng, scene_index, hard_cases)
        # Cameras of many robots: heights, tilts and fields of view drawn, not the default's.
        mount = Mount(x=0.3, z=float(rng.uniform(0.4, 1.6)),
                      pitch=math.radians(float(rng.uniform(-5, 25))))
        camera = Camera('camera', 'camera_optical_frame', mount, width=width, height=height,
                        fovy_deg=float(rng.uniform(50, 75)))
        world = World(scene, camera=camera, lidar=Lidar('lidar', 'laser', Mount(x=0.2, z=0.25),
                                                        beams=8), seed=seed)
        try:
            for _ in range(views_per_scene):
                if index >= images:
                    break
                _random_view(world, rng, hard_cases)
                frame = world.render(rgb=True, depth=False, boxes=True)
                split = 'val' if rng.random() < val_fraction else 'train'
                stem = f'{first_index + index:06d}'
                cv2.imwrite(os.path.join(out, 'images', split, stem + '.jpg'),
                            cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR),
                            [cv2.IMWRITE_JPEG_QUALITY, 95])
                lines = yolo_lines(frame.boxes, width, height)
                with open(os.path.join(out, 'labels', split, stem + '.txt'), 'w',
                          encoding='utf-8') as stream:
                    stream.write('\n'.join(lines) + ('\n' if lines else ''))
                for line in lines:
                    counts[DETECTION_CLASSES[int(line.split()[0])]] += 1
                entries.append({'image': f'images/{split}/{stem}.jpg', 'scene': scene_index,
                                'light_level': round(scene.light_level, 3),
                                'camera_height': round(camera.mount.z, 3), 'objects': len(lines)})
                index += 1
                bar.update(1)
        finally:
            world.close()
        scene_index += 1
    bar.close()
    names = dict(enumerate(DETECTION_CLASSES))
    with open(os.path.join(out, 'data.yaml'), 'w', encoding='utf-8') as stream:
        stream.write(f'path: {os.path.abspath(out)}\ntrain: images/train\nval: images/val\n'
                     'names:\n' + ''.join(f'  {i}: {n}\n' for i, n in names.items()))
    manifest = {'seed': seed, 'images': images, 'scenes': scene_index,
                'width': width, 'height': height, 'classes': list(DETECTION_CLASSES),
                'instances': counts, 'entries': entries}
    with open(os.path.join(out, 'manifest.json'), 'w', encoding='utf-8') as stream:
        json.dump(manifest, stream, indent=1)
    return manifest


def _random_view(world: World, rng: np.random.Generator, at_people: bool = False) -> None:
    """
    Put the robot somewhere in the aisle, looking mostly along it; move people's limbs.

    With at_people, half of the views look toward someone from 1.5 to 15 m away.
    """
    (x0, x1), _ = world.scenario.floor
    start = world.scenario.robot_start
    x = float(rng.uniform(x0 + 2, x1 - 6))
    yaw = float(rng.normal(0, 0.35)) + (math.pi if rng.random() < 0.3 else 0.0)
    people = [s.actor for s in world.actors if s.actor.kind == 'person']
    if at_people and people and rng.random() < 0.5:
        target = people[int(rng.integers(len(people)))].path[0]
        x = float(np.clip(target[0] - rng.uniform(1.5, 15.0), x0 + 1, x1 - 1))
        yaw = math.atan2(target[1], target[0] - x) + float(rng.normal(0, 0.2))
    world.data.qpos[0] = x - start[0]
    world.data.qpos[1] = float(rng.uniform(-0.6, 0.6)) - start[1]
    world.data.qpos[2] = yaw
    for state in world.actors:
        state.started_at = 0.0
        state.speed = state.actor.speed
        state.travelled = float(rng.uniform(0, 1.4))
        world._place_actor(state)
    world.refresh()


def _progress(total: int, enabled: bool):
    try:
        from tqdm import tqdm
        return tqdm(total=total, unit='img', disable=not enabled, desc='rendering')
    except ImportError:  # pragma: no cover - tqdm is a declared dependency
        class _Null:
            def update(self, _n):
                pass

            def close(self):
                pass
        return _Null()
