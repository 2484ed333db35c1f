"""The built-in synthetic sample data."""
from .synthetic import (
    COCO_KEYPOINTS,
    COCO_SKELETON,
    SAMPLE_DATASETS,
    draw_image,
    ensure_sample_data,
    generate_coco,
    generate_mpii,
)

__all__ = [
    'COCO_KEYPOINTS', 'COCO_SKELETON', 'SAMPLE_DATASETS', 'draw_image',
    'ensure_sample_data', 'generate_coco', 'generate_mpii'
]
