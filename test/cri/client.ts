// A CRI client as kubelet is one: gRPC over containerd's unix socket, the CRI v1 RuntimeService and
// ImageService (the subset in cri.proto), loaded with @grpc/proto-loader. Each call is typed by a
// small interface for the fields the suite uses.
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as loader from "@grpc/proto-loader";

export type NamespaceMode = "POD" | "CONTAINER" | "NODE" | "TARGET";
export type ProfileType = "RuntimeDefault" | "Unconfined" | "Localhost";
export type Propagation =
  | "PROPAGATION_PRIVATE"
  | "PROPAGATION_HOST_TO_CONTAINER"
  | "PROPAGATION_BIDIRECTIONAL";
export type ContainerState =
  | "CONTAINER_CREATED"
  | "CONTAINER_RUNNING"
  | "CONTAINER_EXITED"
  | "CONTAINER_UNKNOWN";

export interface NamespaceOption {
  network?: NamespaceMode;
  pid?: NamespaceMode;
  ipc?: NamespaceMode;
}
export interface SecurityProfile {
  profile_type: ProfileType;
  localhost_ref?: string;
}
export interface Int64Value {
  value: number;
}
export interface PodSandboxConfig {
  metadata: { name: string; uid: string; namespace: string; attempt?: number };
  hostname?: string;
  log_directory?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  linux?: {
    cgroup_parent?: string;
    security_context?: {
      namespace_options?: NamespaceOption;
      privileged?: boolean;
      seccomp?: SecurityProfile;
    };
    sysctls?: Record<string, string>;
  };
}
export interface LinuxContainerResources {
  cpu_period?: number;
  cpu_quota?: number;
  cpu_shares?: number;
  memory_limit_in_bytes?: number;
  memory_swap_limit_in_bytes?: number;
}
export interface ContainerSecurityContext {
  capabilities?: { add_capabilities?: string[]; drop_capabilities?: string[] };
  privileged?: boolean;
  namespace_options?: NamespaceOption;
  run_as_user?: Int64Value;
  run_as_username?: string;
  run_as_group?: Int64Value;
  readonly_rootfs?: boolean;
  supplemental_groups?: number[];
  no_new_privs?: boolean;
  masked_paths?: string[];
  readonly_paths?: string[];
  seccomp?: SecurityProfile;
}
export interface ContainerConfig {
  metadata: { name: string; attempt?: number };
  image: { image: string };
  command?: string[];
  args?: string[];
  working_dir?: string;
  envs?: { key: string; value: string }[];
  mounts?: { container_path: string; host_path: string; readonly?: boolean; propagation?: Propagation }[];
  log_path?: string;
  linux?: { resources?: LinuxContainerResources; security_context?: ContainerSecurityContext };
}
export interface ContainerStatus {
  id: string;
  metadata: { name: string } | null;
  state: ContainerState;
  created_at: number;
  started_at: number;
  finished_at: number;
  exit_code: number;
  reason: string;
  message: string;
  log_path: string;
}
export interface PodSandboxStatus {
  id: string;
  state: "SANDBOX_READY" | "SANDBOX_NOTREADY";
  network: { ip: string } | null;
  runtime_handler: string;
}
export interface ContainerStats {
  attributes: { id: string; metadata: { name: string } | null } | null;
  cpu: { timestamp: number; usage_core_nano_seconds: { value: number } | null } | null;
  memory: { timestamp: number; working_set_bytes: { value: number } | null } | null;
}

/** Every call the suite makes: [request, response]. */
export interface Calls {
  Version: [
    { version: string },
    { runtime_name: string; runtime_version: string; runtime_api_version: string },
  ];
  Status: [{ verbose?: boolean }, { status: { conditions: { type: string; status: boolean }[] } | null }];
  RunPodSandbox: [{ config: PodSandboxConfig; runtime_handler: string }, { pod_sandbox_id: string }];
  StopPodSandbox: [{ pod_sandbox_id: string }, Record<string, never>];
  RemovePodSandbox: [{ pod_sandbox_id: string }, Record<string, never>];
  PodSandboxStatus: [
    { pod_sandbox_id: string; verbose?: boolean },
    { status: PodSandboxStatus | null; info: Record<string, string> },
  ];
  ListPodSandbox: [
    { filter?: { id?: string } },
    { items: { id: string; metadata: { name: string } | null; state: string; runtime_handler: string }[] },
  ];
  CreateContainer: [
    { pod_sandbox_id: string; config: ContainerConfig; sandbox_config: PodSandboxConfig },
    { container_id: string },
  ];
  StartContainer: [{ container_id: string }, Record<string, never>];
  StopContainer: [{ container_id: string; timeout: number }, Record<string, never>];
  RemoveContainer: [{ container_id: string }, Record<string, never>];
  ListContainers: [
    { filter?: { id?: string; pod_sandbox_id?: string } },
    { containers: { id: string; pod_sandbox_id: string; state: ContainerState }[] },
  ];
  ContainerStatus: [
    { container_id: string; verbose?: boolean },
    { status: ContainerStatus | null; info: Record<string, string> },
  ];
  UpdateContainerResources: [{ container_id: string; linux: LinuxContainerResources }, Record<string, never>];
  ExecSync: [
    { container_id: string; cmd: string[]; timeout?: number },
    { stdout: Buffer; stderr: Buffer; exit_code: number },
  ];
  ContainerStats: [{ container_id: string }, { stats: ContainerStats | null }];
  ImageStatus: [{ image: { image: string } }, { image: { id: string; repo_tags: string[] } | null }];
  PullImage: [{ image: { image: string } }, { image_ref: string }];
}
export type Method = keyof Calls;

const IMAGE_METHODS: ReadonlySet<Method> = new Set<Method>(["ImageStatus", "PullImage"]);

/** A failed call: the gRPC status code and containerd's message. */
export class CriError extends Error {
  constructor(
    readonly method: Method,
    readonly code: number,
    readonly details: string,
  ) {
    super(`${method}: ${grpc.status[code] ?? code}: ${details}`);
  }
}

const PROTO = join(import.meta.dir, "cri.proto");

function service(def: loader.PackageDefinition, name: string): loader.ServiceDefinition {
  const s = def[`runtime.v1.${name}`];
  if (s === undefined || "format" in s) throw new Error(`cri.proto has no service ${name}`);
  return s as loader.ServiceDefinition;
}

export class CriClient {
  private readonly client: grpc.Client;
  private readonly methods: Map<string, loader.MethodDefinition<object, object>>;

  constructor(socket: string) {
    const def = loader.loadSync(PROTO, { keepCase: true, longs: Number, enums: String, defaults: true });
    this.methods = new Map();
    for (const name of ["RuntimeService", "ImageService"]) {
      for (const [m, d] of Object.entries(service(def, name))) this.methods.set(m, d);
    }
    this.client = new grpc.Client(`unix://${socket}`, grpc.credentials.createInsecure(), {
      "grpc.max_receive_message_length": 32 * 1024 * 1024,
    });
  }

  /** One unary call; a gRPC error becomes a CriError. */
  call<M extends Method>(method: M, request: Calls[M][0], timeoutMs = 120_000): Promise<Calls[M][1]> {
    const d = this.methods.get(method);
    if (d === undefined) throw new Error(`cri.proto has no method ${method}`);
    const path = `/runtime.v1.${IMAGE_METHODS.has(method) ? "ImageService" : "RuntimeService"}/${method}`;
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        path,
        d.requestSerialize,
        d.responseDeserialize,
        request,
        new grpc.Metadata(),
        { deadline: Date.now() + timeoutMs },
        (err: grpc.ServiceError | null, value?: object) => {
          if (err) reject(new CriError(method, err.code, err.details));
          else resolve(value as Calls[M][1]);
        },
      );
    });
  }

  /** The call's answer, or the CriError it failed with. */
  async attempt<M extends Method>(method: M, request: Calls[M][0]): Promise<Calls[M][1] | CriError> {
    try {
      return await this.call(method, request);
    } catch (e) {
      if (e instanceof CriError) return e;
      throw e;
    }
  }

  close(): void {
    this.client.close();
  }
}
