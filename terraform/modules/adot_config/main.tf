# The configuration of the ADOT collector (aws-otel-collector) that runs beside each task:
# it scrapes the backend's /metrics on localhost (the containers of a Fargate task share one
# network namespace) and remote-writes the samples to an Amazon Managed Prometheus workspace,
# SigV4-signed (service aps) with the task role's credentials. ECS passes it to the collector
# in the AOT_CONFIG_CONTENT variable (https://aws-otel.github.io/docs/setup/ecs).
#
# Only locals and outputs: no provider, so tests render it with the embedded Terraform.
#
# Every task scrapes the same "localhost:PORT", which Prometheus would make the `instance` of
# every task's series, and the counters of two tasks would read as one. The ECS resource
# detector reads the task's ARN from the task metadata endpoint, and `instance` (the
# exporter writes it from service.instance.id) becomes that ARN: one series per task.

locals {
  config = {
    extensions = {
      sigv4auth = { region = var.region, service = "aps" }
    }
    receivers = {
      prometheus = {
        config = {
          global = {
            scrape_interval = "${var.scrape_interval_seconds}s"
            scrape_timeout  = "${min(10, var.scrape_interval_seconds)}s"
          }
          scrape_configs = [{
            job_name       = var.job_name
            metrics_path   = var.metrics_path
            static_configs = [{ targets = ["localhost:${var.port}"] }]
          }]
        }
      }
    }
    processors = {
      "resourcedetection/ecs" = { detectors = ["ecs"], override = false }
      "resource/instance" = {
        attributes = [{ key = "service.instance.id", from_attribute = "aws.ecs.task.arn", action = "upsert" }]
      }
      batch = {}
    }
    exporters = {
      prometheusremotewrite = {
        endpoint = var.remote_write_url
        auth     = { authenticator = "sigv4auth" }
      }
    }
    service = {
      extensions = ["sigv4auth"]
      pipelines = {
        metrics = {
          receivers  = ["prometheus"]
          processors = ["resourcedetection/ecs", "resource/instance", "batch"]
          exporters  = ["prometheusremotewrite"]
        }
      }
    }
  }
}
