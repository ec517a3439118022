# The public entry point: an ALB whose HTTPS listener forwards to two target groups, blue and
# green, by weight. Terraform creates the listener at 100/0; from then on canaryctl owns the
# weights (it shifts traffic to the canary and back), so Terraform ignores the listener's
# default action after creation instead of resetting a rollout in progress.

data "aws_elb_service_account" "this" {}
data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}

locals {
  target_groups = {
    blue  = "${var.name}-blue"
    green = "${var.name}-green"
  }
  access_log_prefix = "alb"
}

resource "aws_security_group" "alb" {
  name        = "${var.name}-alb"
  description = "Public HTTPS into the ${var.name} load balancer"
  vpc_id      = var.vpc_id

  ingress {
    description = "HTTPS from game clients"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = var.ingress_cidr_blocks
  }

  egress {
    description = "To the service's tasks inside the VPC"
    from_port   = var.container_port
    to_port     = var.container_port
    protocol    = "tcp"
    cidr_blocks = [var.vpc_cidr_block]
  }
}

resource "aws_lb" "this" {
  #checkov:skip=CKV2_AWS_28:A WAF web ACL is attached per account (var.web_acl_arn) because its rules depend on the game's client traffic; aws_wafv2_web_acl_association below does it when set.
  #checkov:skip=CKV2_AWS_76:The optional web ACL (var.web_acl_arn) is managed outside this module, where its managed rule groups (Log4j included) are chosen.
  name                       = var.name
  load_balancer_type         = "application"
  internal                   = false
  security_groups            = [aws_security_group.alb.id]
  subnets                    = var.public_subnet_ids
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection
  idle_timeout               = var.idle_timeout

  access_logs {
    bucket  = aws_s3_bucket.access_logs.id
    prefix  = local.access_log_prefix
    enabled = true
  }

  depends_on = [aws_s3_bucket_policy.access_logs]
}

resource "aws_wafv2_web_acl_association" "this" {
  count = var.web_acl_arn == null ? 0 : 1

  resource_arn = aws_lb.this.arn
  web_acl_arn  = var.web_acl_arn
}

resource "aws_lb_target_group" "this" {
  for_each = local.target_groups

  #checkov:skip=CKV_AWS_378:TLS ends at the ALB; tasks listen on plain HTTP inside private subnets reachable only from the ALB's security group.
  name                 = each.value
  port                 = var.container_port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = var.deregistration_delay

  health_check {
    enabled             = true
    path                = var.health_check_path
    matcher             = "200"
    interval            = 10
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = { Color = each.key }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = var.ssl_policy
  certificate_arn   = var.certificate_arn

  default_action {
    type = "forward"

    forward {
      target_group {
        arn    = aws_lb_target_group.this["blue"].arn
        weight = 100
      }

      target_group {
        arn    = aws_lb_target_group.this["green"].arn
        weight = 0
      }

      stickiness {
        enabled  = false
        duration = 1
      }
    }
  }

  lifecycle {
    # canaryctl sets the blue/green weights during every rollout; Terraform must not undo them.
    ignore_changes = [default_action]
  }
}
