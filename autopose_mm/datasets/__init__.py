"""The built-in synthetic sample data."""
from .synthetic import (
    COCO_KEYPOINTS,
    COCO_SKELETON,
    draw_image,
    generate_coco,
    generate_mpii,
)

__all__ = [
    'COCO_KEYPOINTS', 'COCO_SKELETON', 'draw_image', 'generate_coco',
    'generate_mpii'
]
