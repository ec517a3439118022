"""The ``ecs`` platform: ECS task sets (EXTERNAL deployment controller) behind an ALB listener's
weighted forward action. ``EcsPlatform`` lives in ``platform``; its settings in ``settings``."""
