terraform {
  # >= 1.10: the S3 backend locks with a lock object (use_lockfile), no DynamoDB table.
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.0, < 7.0"
    }
  }

  # bucket and region come from backend.hcl (copy backend.hcl.example), so the same code
  # serves any account: `canaryctl env up staging` passes -backend-config=backend.hcl.
  backend "s3" {
    key          = "canaryctl/staging/terraform.tfstate"
    encrypt      = true
    use_lockfile = true
  }
}
