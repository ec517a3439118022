# The ECS cluster and the service canaryctl deploys. The service uses the EXTERNAL deployment
# controller: ECS does not roll out on its own; canaryctl creates a task set per version
# behind the blue or green target group, shifts the listener's weights and promotes the
# winner to primary. The task definition here is the first revision only; canaryctl
# registers later revisions with the new image.

data "aws_region" "current" {}

locals {
  launch_type = "FARGATE"
  # ACCESS_LOG: the backend's JSON access log on stdout (awslogs ships it to the log group
  # whose metric filters the observability module defines); var.environment may override it.
  environment = merge({ ACCESS_LOG = var.access_log }, var.environment)
}

resource "aws_cloudwatch_log_group" "exec" {
  name              = "/ecs/${var.name}/exec"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_ecs_cluster" "this" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  configuration {
    execute_command_configuration {
      kms_key_id = var.kms_key_arn
      logging    = "OVERRIDE"

      log_configuration {
        cloud_watch_encryption_enabled = true
        cloud_watch_log_group_name     = aws_cloudwatch_log_group.exec.name
      }
    }
  }
}

resource "aws_ecs_cluster_capacity_providers" "this" {
  cluster_name       = aws_ecs_cluster.this.name
  capacity_providers = ["FARGATE", "FARGATE_SPOT"]

  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
  }
}

resource "aws_security_group" "service" {
  #checkov:skip=CKV2_AWS_5:Attached by canaryctl: every task set it creates (EXTERNAL controller) runs with this security group; Terraform creates no task set.
  name        = "${var.name}-${var.service_name}"
  description = "Tasks of ${var.service_name}: only the ALB may call them"
  vpc_id      = var.vpc_id

  ingress {
    description     = "HTTP from the load balancer"
    from_port       = var.container_port
    to_port         = var.container_port
    protocol        = "tcp"
    security_groups = [var.alb_security_group_id]
  }

  egress {
    description = "HTTPS to AWS APIs (ECR, Logs, Secrets Manager, AMP remote write) through the NAT gateway"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  egress {
    description = "PostgreSQL inside the VPC"
    from_port   = 5432
    to_port     = 5432
    protocol    = "tcp"
    cidr_blocks = [var.vpc_cidr_block]
  }

  egress {
    description = "Redis inside the VPC"
    from_port   = 6379
    to_port     = 6379
    protocol    = "tcp"
    cidr_blocks = [var.vpc_cidr_block]
  }
}

resource "aws_ecs_task_definition" "this" {
  family                   = "${var.name}-${var.service_name}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  # The backend, and the metrics collector when there is one (collector.tf).
  container_definitions = jsonencode(concat([{
    name                   = var.container_name
    image                  = var.image
    essential              = true
    readonlyRootFilesystem = true
    privileged             = false
    command                = ["gamebackend", "serve", "--host", "0.0.0.0", "--port", tostring(var.container_port)]
    portMappings           = [{ containerPort = var.container_port, protocol = "tcp" }]
    environment            = [for k, v in local.environment : { name = k, value = v }]
    secrets                = [for k, v in var.secrets : { name = k, valueFrom = v }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = var.log_group_name
        awslogs-region        = data.aws_region.current.region
        awslogs-stream-prefix = var.service_name
      }
    }
  }], local.collector_containers))
}

resource "aws_ecs_service" "this" {
  name                    = var.service_name
  cluster                 = aws_ecs_cluster.this.arn
  desired_count           = var.desired_count
  enable_ecs_managed_tags = true
  # Fargate, as the task definition requires and every task set runs: the first one
  # (`canaryctl ecs adopt`, from the launch_type output) and each canary (the primary's).
  # Stated here rather than left to the cluster's default capacity provider strategy, so the
  # service and its task sets say the same thing.
  launch_type = local.launch_type
  # How long ECS ignores failing ALB health checks of a new task: /readyz answers 200 only
  # once RDS and Redis both answer (TLS handshakes, migrations on a cold start), and a task
  # that is not ready within 3 checks x 10 s would be replaced before it could be.
  # For an EXTERNAL service it is one of the few service-level parameters (the rest belong to
  # task sets): https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-external.html
  health_check_grace_period_seconds = var.health_check_grace_period_seconds

  # canaryctl, not ECS, decides which version serves: task sets, load balancers and network
  # configuration belong to the task sets it creates.
  deployment_controller {
    type = "EXTERNAL"
  }

  lifecycle {
    # Application Auto Scaling owns the desired count once the service exists.
    ignore_changes = [desired_count]
  }
}

resource "aws_appautoscaling_target" "service" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.this.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.min_count
  max_capacity       = var.max_count
}

resource "aws_appautoscaling_policy" "cpu" {
  name               = "${var.name}-${var.service_name}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.service.service_namespace
  resource_id        = aws_appautoscaling_target.service.resource_id
  scalable_dimension = aws_appautoscaling_target.service.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.cpu_target_percent
    scale_in_cooldown  = 120
    scale_out_cooldown = 60

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}
