/** Child processes for the benchmarks: each server in its own process group, always killed on exit; RSS from /proc. */
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

const children = new Set()

function killGroup(child, signal) {
  try { process.kill(-child.pid, signal) } catch { /* already gone */ }
}

/** Kills every child process group still running (SIGKILL): the last resort on exit or error. */
export function killAll() {
  for (const child of children) killGroup(child, 'SIGKILL')
  children.clear()
}

let hooked = false
function hookExit() {
  if (hooked) return
  hooked = true
  process.on('exit', killAll)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, () => { killAll(); process.exit(130) })
  }
}

/**
 * Spawns `node args...` in a new process group (detached), stdout piped to the caller (or to our stderr),
 * stderr to our stderr. Returns the ChildProcess.
 */
export function spawnNode(args, { env, cwd, pipeStdout = false } = {}) {
  hookExit()
  const child = spawn(process.execPath, args, {
    cwd, env: { ...process.env, ...env }, detached: true,
    stdio: ['ignore', pipeStdout ? 'pipe' : process.stderr, process.stderr],
  })
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

/** SIGTERM the child's group, then SIGKILL after `graceMs`; resolves once the child has exited. */
export function stop(child, graceMs = 5_000) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs)
    child.once('exit', () => { clearTimeout(timer); children.delete(child); resolve() })
    killGroup(child, 'SIGTERM')
  })
}

/** Reads the first line the child prints on stdout (a JSON object). */
export function firstJsonLine(child, timeoutMs = 30_000) {
  return new Promise((resolve, reject) => {
    let text = ''
    const timer = setTimeout(() => reject(new Error('timed out waiting for the child to start')), timeoutMs)
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`child exited (${code}) before it was ready`)) })
    child.stdout.on('data', (chunk) => {
      text += chunk
      const newline = text.indexOf('\n')
      if (newline >= 0) {
        clearTimeout(timer)
        try { resolve(JSON.parse(text.slice(0, newline))) } catch (error) { reject(error) }
        // Anything further goes to our stderr, never to our stdout.
        child.stdout.removeAllListeners('data')
        child.stdout.pipe(process.stderr)
      }
    })
  })
}

/** VmRSS and VmHWM (peak) of a process, in MiB. */
export function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN)
  return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 }
}

/**
 * CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat; with `mainThreadOnly`, those of its
 * main thread (the JavaScript event loop), from /proc/<pid>/task/<pid>/stat.
 */
export function cpuSeconds(pid, mainThreadOnly = false) {
  return statCpuSeconds(mainThreadOnly ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`)
}

/**
 * CPU seconds of each of a process's threads, by thread id. Node names every thread `node`, so a thread is known by
 * its id only: the main thread's id is the pid, and the others are told apart by how busy they are.
 */
export function threadCpuSeconds(pid) {
  const seconds = new Map()
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try { seconds.set(Number(tid), statCpuSeconds(`/proc/${pid}/task/${tid}/stat`)) } catch { /* the thread ended */ }
  }
  return seconds
}

function statCpuSeconds(path) {
  const stat = readFileSync(path, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // fields[11] = utime, fields[12] = stime (0-based after the command), in clock ticks (100 Hz on Linux).
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/** CPU seconds the whole machine has spent busy (all cores, everything but idle and iowait), from /proc/stat. */
export function machineBusySeconds() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]
  const [user, nice, system, , , irq, softirq, steal] = line.split(/\s+/).slice(1).map(Number)
  return (user + nice + system + irq + softirq + steal) / 100
}
