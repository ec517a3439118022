# What an engineer looks at when a canary is judged: the service's logs, per route class
# metrics derived from its JSON access log, an error-rate and a p95 latency alarm per route
# class, and one dashboard per route class beside the ALB's blue/green target-group view.
#
# The backend writes one JSON object per request on stdout when ACCESS_LOG=stdout (the ECS
# task definition sets it; gamebackend/accesslog.py), with at least
# {"route_class": "wallet", "status": 200, "duration_ms": 12.3} (numbers as JSON numbers);
# the metric filters below read those three fields, and
# tests/integration/gamebackend/test_gb_access_log.py evaluates them over real lines.

data "aws_region" "current" {}

locals {
  namespace = "${var.name}/${var.service_name}"
}

resource "aws_cloudwatch_log_group" "service" {
  name              = "/ecs/${var.name}/${var.service_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = var.kms_key_arn
}

resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.alarm_emails)

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = each.value
}

resource "aws_cloudwatch_log_metric_filter" "requests" {
  name           = "${var.name}-requests"
  log_group_name = aws_cloudwatch_log_group.service.name
  pattern        = "{ $.route_class = * && $.status = * }"

  metric_transformation {
    name       = "Requests"
    namespace  = local.namespace
    value      = "1"
    unit       = "Count"
    dimensions = { RouteClass = "$.route_class" }
  }
}

resource "aws_cloudwatch_log_metric_filter" "errors" {
  name           = "${var.name}-errors"
  log_group_name = aws_cloudwatch_log_group.service.name
  pattern        = "{ $.route_class = * && $.status >= 500 }"

  metric_transformation {
    name       = "Errors5xx"
    namespace  = local.namespace
    value      = "1"
    unit       = "Count"
    dimensions = { RouteClass = "$.route_class" }
  }
}

resource "aws_cloudwatch_log_metric_filter" "latency" {
  name           = "${var.name}-latency"
  log_group_name = aws_cloudwatch_log_group.service.name
  pattern        = "{ $.route_class = * && $.duration_ms = * }"

  metric_transformation {
    name       = "LatencyMs"
    namespace  = local.namespace
    value      = "$.duration_ms"
    unit       = "Milliseconds"
    dimensions = { RouteClass = "$.route_class" }
  }
}

resource "aws_cloudwatch_metric_alarm" "error_rate" {
  for_each = var.route_classes

  alarm_name          = "${var.name}-${each.key}-error-rate"
  alarm_description   = "5xx rate of ${each.key} requests above ${each.value.error_rate_percent}% for ${var.alarm_evaluation_periods} minutes"
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.error_rate_percent
  evaluation_periods  = var.alarm_evaluation_periods
  datapoints_to_alarm = var.alarm_evaluation_periods
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]

  metric_query {
    id          = "rate"
    expression  = "100 * errors / MAX([requests, 1])"
    label       = "${each.key} 5xx %"
    return_data = true
  }

  metric_query {
    id = "errors"
    metric {
      namespace   = local.namespace
      metric_name = "Errors5xx"
      dimensions  = { RouteClass = each.key }
      period      = 60
      stat        = "Sum"
    }
  }

  metric_query {
    id = "requests"
    metric {
      namespace   = local.namespace
      metric_name = "Requests"
      dimensions  = { RouteClass = each.key }
      period      = 60
      stat        = "Sum"
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "p95_latency" {
  for_each = var.route_classes

  alarm_name          = "${var.name}-${each.key}-p95-latency"
  alarm_description   = "p95 latency of ${each.key} requests above ${each.value.p95_ms} ms for ${var.alarm_evaluation_periods} minutes"
  namespace           = local.namespace
  metric_name         = "LatencyMs"
  dimensions          = { RouteClass = each.key }
  extended_statistic  = "p95"
  period              = 60
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.p95_ms
  evaluation_periods  = var.alarm_evaluation_periods
  datapoints_to_alarm = var.alarm_evaluation_periods
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_dashboard" "route_class" {
  for_each = var.route_classes

  dashboard_name = "${var.name}-${each.key}"
  dashboard_body = jsonencode({
    widgets = [
      {
        type = "metric", x = 0, y = 0, width = 12, height = 6
        properties = {
          title   = "${each.key}: requests and 5xx"
          region  = data.aws_region.current.region
          stat    = "Sum"
          period  = 60
          metrics = [[local.namespace, "Requests", "RouteClass", each.key], [local.namespace, "Errors5xx", "RouteClass", each.key]]
        }
      },
      {
        type = "metric", x = 12, y = 0, width = 12, height = 6
        properties = {
          title  = "${each.key}: latency (ms)"
          region = data.aws_region.current.region
          period = 60
          metrics = [
            [local.namespace, "LatencyMs", "RouteClass", each.key, { stat = "p50" }],
            [local.namespace, "LatencyMs", "RouteClass", each.key, { stat = "p95" }],
            [local.namespace, "LatencyMs", "RouteClass", each.key, { stat = "p99" }],
          ]
          annotations = { horizontal = [{ label = "p95 SLO", value = each.value.p95_ms }] }
        }
      },
      {
        type = "metric", x = 0, y = 6, width = 24, height = 6
        properties = {
          title  = "Blue vs green target groups (all routes): 5xx and p95 response time"
          region = data.aws_region.current.region
          period = 60
          metrics = [
            for tg in var.target_group_arn_suffixes : [
              "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "TargetGroup", tg, "LoadBalancer", var.load_balancer_arn_suffix, { stat = "Sum" }
            ]
          ]
        }
      },
      {
        type = "alarm", x = 0, y = 12, width = 24, height = 3
        properties = {
          title  = "${each.key} alarms"
          alarms = [aws_cloudwatch_metric_alarm.error_rate[each.key].arn, aws_cloudwatch_metric_alarm.p95_latency[each.key].arn]
        }
      },
    ]
  })
}
