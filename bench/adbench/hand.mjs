// ADBench Hand tracking: model and instance loaders, the objective (skinned hand mesh against measured points) in plain JS, and its Jacobian by tracegrad.
//
// Files (ADBench format, MIT license: see LICENSE.ADBench.txt next to this file). The model directory holds
// bones.txt (per line, `:`-separated: name, parent index (−1 for the root), the 4×4 base-relative transform and the
// 4×4 inverse base-absolute transform, both row-major), vertices.txt (per line: x, y, z, a normal and texture
// coordinates that the objective ignores, the number of influencing bones, then (bone, weight) pairs) and
// triangles.txt (three vertex indices per line). An instance file holds `nPoints nTheta`, nPoints lines
// `correspondence x y z` (a vertex index; in the "complicated" variant a triangle index), in the complicated variant
// 2·nPoints barycentric coordinates u, then the nTheta pose parameters θ.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The number of pose parameters: global rotation (3), global translation (3), then 4 per finger (5 fingers). */
export const POSE_PARAMS = 26;

const pathOf = (p) => (p instanceof URL ? fileURLToPath(p) : p);
const nonEmptyLines = (file) => readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l.length > 0);

/**
 * Reads the hand model (bones, skinning weights, triangles) from a directory. Matrices are row-major 4×4 per bone;
 * weights are dense, bone-major (weights[bone·nVertices + vertex]), as ADBench stores them; indices are kept in
 * Float64Arrays so that traced code can close over them (the compiled tier takes numbers and Float64Arrays).
 * @param {string | URL} dir
 */
export function loadHandModel(dir) {
  const base = pathOf(dir);
  const boneLines = nonEmptyLines(join(base, 'bones.txt')).map((l) => l.split(':'));
  const nBones = boneLines.length;
  const boneNames = [];
  const parents = new Float64Array(nBones);
  const baseRelatives = new Float64Array(16 * nBones);
  const inverseBaseAbsolutes = new Float64Array(16 * nBones);
  boneLines.forEach((fields, b) => {
    if (fields.length !== 34) throw new Error(`bones.txt line ${b + 1}: ${fields.length} fields, expected 34`);
    boneNames.push(fields[0]);
    parents[b] = Number(fields[1]);
    if (!(parents[b] < b)) throw new Error(`bones.txt: bone ${b} has parent ${parents[b]}, not an earlier bone`);
    for (let k = 0; k < 16; k++) {
      baseRelatives[16 * b + k] = Number(fields[2 + k]);
      inverseBaseAbsolutes[16 * b + k] = Number(fields[18 + k]);
    }
  });
  const vertexLines = nonEmptyLines(join(base, 'vertices.txt')).map((l) => l.split(':').map(Number));
  const nVertices = vertexLines.length;
  const basePositions = new Float64Array(3 * nVertices);
  const weights = new Float64Array(nBones * nVertices);
  vertexLines.forEach((fields, v) => {
    const influences = fields[8];
    if (fields.length !== 9 + 2 * influences || fields.some(Number.isNaN)) throw new Error(`vertices.txt line ${v + 1} is malformed`);
    for (let j = 0; j < 3; j++) basePositions[3 * v + j] = fields[j];
    for (let k = 0; k < influences; k++) weights[fields[9 + 2 * k] * nVertices + v] = fields[10 + 2 * k];
  });
  const triangles = Float64Array.from(nonEmptyLines(join(base, 'triangles.txt')).flatMap((l) => l.split(':').map(Number)));
  return { boneNames, nBones, parents, baseRelatives, inverseBaseAbsolutes, nVertices, basePositions, weights, triangles };
}

/**
 * Reads an instance: correspondences, measured points (nPoints × 3, row-major), θ, and for the complicated variant
 * (`{ complicated: true }`) the barycentric coordinates us (nPoints × 2).
 * @param {string | URL} path
 */
export function loadHandInstance(path, { complicated = false } = {}) {
  const nums = readFileSync(pathOf(path), 'utf8').trim().split(/\s+/).map(Number);
  const [nPoints, nTheta] = nums;
  const expected = 2 + 4 * nPoints + (complicated ? 2 * nPoints : 0) + nTheta;
  if (nums.length !== expected || nums.some(Number.isNaN)) throw new Error(`${path}: expected ${expected} numbers, found ${nums.length}`);
  const correspondences = new Float64Array(nPoints);
  const points = new Float64Array(3 * nPoints);
  for (let i = 0; i < nPoints; i++) {
    correspondences[i] = nums[2 + 4 * i];
    for (let j = 0; j < 3; j++) points[3 * i + j] = nums[3 + 4 * i + j];
  }
  let at = 2 + 4 * nPoints;
  const us = complicated ? Float64Array.from(nums.slice(at, (at += 2 * nPoints))) : null;
  const theta = Float64Array.from(nums.slice(at, at + nTheta));
  return { nPoints, correspondences, points, us, theta };
}

/**
 * The skinned, posed hand: every vertex's position (nVertices × 3) for pose θ, as ADBench computes it.
 * - Each bone b gets Euler angles from θ (bones 0 and 1, and each finger's first bone, stay unposed; each finger's
 *   next three bones take 2, 1 and 1 angles: θ[6..25]); its rotation is Rz·Ry·Rx with the angles stored in ADBench's
 *   x, z, y order. relative_b = baseRelative_b · [R_b 0; 0 1], absolute_b = absolute_parent · relative_b (the root's is
 *   its relative), transform_b = absolute_b · inverseBaseAbsolute_b.
 * - Linear-blend skinning: p_v = Σ_b weight(b, v) · (transform_b · [x_v; 1])₀..₂ over every bone, as ADBench does.
 * - Global transform: p ← R(θ₀..₂)·p + θ₃..₅ with R the angle-axis rotation (the identity when |θ₀..₂| < 10⁻⁴, as
 *   ADBench; ADBench also scales R's columns by a fixed 1, left out here because it is exact).
 * Plain loops over Float64Arrays, in tracegrad's compiled subset.
 */
export function skinnedVertices(theta, nBones, parents, baseRelatives, inverseBaseAbsolutes, nVertices, basePositions, weights, positions) {
  const transforms = new Float64Array(16 * nBones);
  boneTransforms(theta, 0, nBones, parents, baseRelatives, inverseBaseAbsolutes, transforms);
  for (let v = 0; v < nVertices; v++) {
    const x = basePositions[3 * v], y = basePositions[3 * v + 1], z = basePositions[3 * v + 2];
    let p0 = 0, p1 = 0, p2 = 0;
    for (let b = 0; b < nBones; b++) {
      const w = weights[b * nVertices + v];
      const t = 16 * b;
      p0 += w * (transforms[t] * x + transforms[t + 1] * y + transforms[t + 2] * z + transforms[t + 3]);
      p1 += w * (transforms[t + 4] * x + transforms[t + 5] * y + transforms[t + 6] * z + transforms[t + 7]);
      p2 += w * (transforms[t + 8] * x + transforms[t + 9] * y + transforms[t + 10] * z + transforms[t + 11]);
    }
    positions[3 * v] = p0;
    positions[3 * v + 1] = p1;
    positions[3 * v + 2] = p2;
  }
  globalTransform(theta, 0, positions, nVertices);
}

/**
 * transforms[16b ..] = absolute_b · inverseBaseAbsolute_b for the pose θ = thetas[at .. at+25] (see skinnedVertices).
 * Plain JS used by the objective; handCorrespondenceSum repeats the same arithmetic inside tracegrad's compiled subset.
 */
export function boneTransforms(thetas, at, nBones, parents, baseRelatives, inverseBaseAbsolutes, transforms) {
  const angles = boneAngles(thetas, at, nBones);
  const absolutes = new Float64Array(16 * nBones);
  const relative = new Float64Array(16);
  for (let b = 0; b < nBones; b++) {
    const r = eulerRotation(angles[3 * b], angles[3 * b + 2], angles[3 * b + 1]);
    // relative = baseRelative · [R 0; 0 1]: the rotation mixes the first three columns, the fourth is kept
    for (let row = 0; row < 4; row++) {
      for (let col = 0; col < 3; col++) {
        relative[4 * row + col] = baseRelatives[16 * b + 4 * row] * r[col] + baseRelatives[16 * b + 4 * row + 1] * r[3 + col]
          + baseRelatives[16 * b + 4 * row + 2] * r[6 + col];
      }
      relative[4 * row + 3] = baseRelatives[16 * b + 4 * row + 3];
    }
    const parent = parents[b];
    if (parent < 0) absolutes.set(relative, 16 * b);
    else multiply4(absolutes, 16 * parent, relative, 0, absolutes, 16 * b);
    multiply4(absolutes, 16 * b, inverseBaseAbsolutes, 16 * b, transforms, 16 * b);
  }
}

/** Per bone, ADBench's Euler angles (x, z, y) from θ = thetas[at ..]: see skinnedVertices for which bones are posed. */
export function boneAngles(thetas, at, nBones) {
  const angles = new Float64Array(3 * nBones);
  let next = at + 6;
  for (let finger = 0; finger < 5; finger++) {
    const bone = 2 + 4 * finger; // the finger's second bone; its first (1 + 4·finger) stays unposed
    angles[3 * bone] = thetas[next];
    angles[3 * bone + 1] = thetas[next + 1];
    angles[3 * (bone + 1)] = thetas[next + 2];
    angles[3 * (bone + 2)] = thetas[next + 3];
    next += 4;
  }
  return angles;
}

/** Rz(tz)·Ry(ty)·Rx(tx), row-major 3×3. */
export function eulerRotation(tx, ty, tz) {
  const cx = Math.cos(tx), sx = Math.sin(tx), cy = Math.cos(ty), sy = Math.sin(ty), cz = Math.cos(tz), sz = Math.sin(tz);
  return Float64Array.of(
    cz * cy, cz * sy * sx - sz * cx, cz * sy * cx + sz * sx,
    sz * cy, sz * sy * sx + cz * cx, sz * sy * cx - cz * sx,
    -sy, cy * sx, cy * cx,
  );
}

/** out[o..o+15] = a[ia..] · b[ib..] for row-major 4×4 matrices (out must not overlap a or b). */
export function multiply4(a, ia, b, ib, out, o) {
  for (let row = 0; row < 4; row++) {
    for (let col = 0; col < 4; col++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += a[ia + 4 * row + k] * b[ib + 4 * k + col];
      out[o + 4 * row + col] = s;
    }
  }
}

/** positions ← R·positions + t for θ = thetas[at ..]: R the angle-axis rotation of θ₀..₂ (identity below 10⁻⁴), t = θ₃..₅. */
export function globalTransform(thetas, at, positions, nVertices) {
  const r = angleAxisRotation(thetas[at], thetas[at + 1], thetas[at + 2]);
  for (let v = 0; v < nVertices; v++) {
    const x = positions[3 * v], y = positions[3 * v + 1], z = positions[3 * v + 2];
    for (let j = 0; j < 3; j++) positions[3 * v + j] = r[3 * j] * x + r[3 * j + 1] * y + r[3 * j + 2] * z + thetas[at + 3 + j];
  }
}

/** The rotation by angle |a| about a/|a| (Rodrigues' formula, written out), row-major 3×3; the identity when |a| < 10⁻⁴. */
export function angleAxisRotation(a0, a1, a2) {
  const norm = Math.sqrt(a0 * a0 + a1 * a1 + a2 * a2);
  if (norm < 0.0001) return Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1);
  const x = a0 / norm, y = a1 / norm, z = a2 / norm;
  const s = Math.sin(norm), c = Math.cos(norm);
  return Float64Array.of(
    x * x + (1 - x * x) * c, x * y * (1 - c) - z * s, x * z * (1 - c) + y * s,
    x * y * (1 - c) + z * s, y * y + (1 - y * y) * c, y * z * (1 - c) - x * s,
    x * z * (1 - c) - y * s, z * y * (1 - c) + x * s, z * z + (1 - z * z) * c,
  );
}

/**
 * The simple ADBench hand objective: err[3i + j] = points[3i + j] − V[corr_i][j], V the skinned posed vertices.
 * `scratch` (nVertices × 3) receives V.
 */
export function handObjective(theta, model, data, err, scratch = new Float64Array(3 * model.nVertices)) {
  const { nBones, parents, baseRelatives, inverseBaseAbsolutes, nVertices, basePositions, weights } = model;
  skinnedVertices(theta, nBones, parents, baseRelatives, inverseBaseAbsolutes, nVertices, basePositions, weights, scratch);
  for (let i = 0; i < data.nPoints; i++) {
    const v = data.correspondences[i];
    for (let j = 0; j < 3; j++) err[3 * i + j] = data.points[3 * i + j] - scratch[3 * v + j];
  }
}

/**
 * The complicated ADBench hand objective: each point corresponds to a triangle (t0, t1, t2) and a point on it,
 * u₀·V[t0] + u₁·V[t1] + (1 − u₀ − u₁)·V[t2]; err = point − that.
 */
export function handObjectiveComplicated(theta, us, model, data, err, scratch = new Float64Array(3 * model.nVertices)) {
  const { nBones, parents, baseRelatives, inverseBaseAbsolutes, nVertices, basePositions, weights, triangles } = model;
  skinnedVertices(theta, nBones, parents, baseRelatives, inverseBaseAbsolutes, nVertices, basePositions, weights, scratch);
  for (let i = 0; i < data.nPoints; i++) {
    const tri = 3 * data.correspondences[i];
    const a = triangles[tri], b = triangles[tri + 1], c = triangles[tri + 2];
    const u0 = us[2 * i], u1 = us[2 * i + 1];
    for (let j = 0; j < 3; j++) {
      const onHand = u0 * scratch[3 * a + j] + u1 * scratch[3 * b + j] + (1 - u0 - u1) * scratch[3 * c + j];
      err[3 * i + j] = data.points[3 * i + j] - onHand;
    }
  }
}

/**
 * Σᵢ of one coordinate (0, 1, 2) of the residuals, correspondence i posed by its own copy of the parameters,
 * thetas[26i .. 26i+25] (and, when `complicated` is 1, its own us[2i], us[2i+1]). Since residual i reads nothing but
 * copy i, the gradient of this sum with respect to copy i is row 3i + coordinate of the Jacobian: three reverse sweeps
 * give all of it. It repeats the objective's arithmetic (boneTransforms, the skinning of one vertex or of a triangle's
 * three, the global transform) per correspondence, for the bones `bonesNeeded` marks (bonesNeededPerCorrespondence),
 * in tracegrad's compiled subset: loops, local Float64Arrays, Math. The compiled subset takes at most 1,500 generated
 * statements, which is why the global rotation is applied to the point rather than built as a matrix.
 */
export function handCorrespondenceSum(thetas, us, coordinate, complicated, nPoints, correspondences, points, triangles,
  nBones, parents, baseRelatives, inverseBaseAbsolutes, nVertices, basePositions, weights, bonesNeeded) {
  const angles = new Float64Array(3 * nBones);
  const rotation = new Float64Array(9);
  const relative = new Float64Array(16);
  const absolutes = new Float64Array(16 * nBones);
  const transforms = new Float64Array(16 * nBones);
  const posed = new Float64Array(3); // the skinned point before the global transform
  const axis = new Float64Array(3);
  let total = 0;
  for (let i = 0; i < nPoints; i++) {
    const at = 26 * i;
    // Euler angles per bone, ADBench's x, z, y order (see boneAngles); the unposed bones' stay 0
    for (let finger = 0; finger < 5; finger++) {
      const bone = 2 + 4 * finger;
      angles[3 * bone] = thetas[at + 6 + 4 * finger];
      angles[3 * bone + 1] = thetas[at + 7 + 4 * finger];
      angles[3 * bone + 3] = thetas[at + 8 + 4 * finger];
      angles[3 * bone + 6] = thetas[at + 9 + 4 * finger];
    }
    // transform_b = absolute_b · inverseBaseAbsolute_b, absolute_b = absolute_parent · baseRelative_b · [R_b 0; 0 1],
    // for the bones that move this correspondence's vertices (and their ancestors) only
    for (let b = 0; b < nBones; b++) {
      if (bonesNeeded[nBones * i + b] === 0) continue;
      const cx = Math.cos(angles[3 * b]);
      const sx = Math.sin(angles[3 * b]);
      const cy = Math.cos(angles[3 * b + 2]);
      const sy = Math.sin(angles[3 * b + 2]);
      const cz = Math.cos(angles[3 * b + 1]);
      const sz = Math.sin(angles[3 * b + 1]);
      rotation[0] = cz * cy;
      rotation[1] = cz * sy * sx - sz * cx;
      rotation[2] = cz * sy * cx + sz * sx;
      rotation[3] = sz * cy;
      rotation[4] = sz * sy * sx + cz * cx;
      rotation[5] = sz * sy * cx - cz * sx;
      rotation[6] = -sy;
      rotation[7] = cy * sx;
      rotation[8] = cy * cx;
      for (let row = 0; row < 4; row++) {
        for (let col = 0; col < 3; col++) {
          relative[4 * row + col] = baseRelatives[16 * b + 4 * row] * rotation[col] + baseRelatives[16 * b + 4 * row + 1] * rotation[3 + col]
            + baseRelatives[16 * b + 4 * row + 2] * rotation[6 + col];
        }
        relative[4 * row + 3] = baseRelatives[16 * b + 4 * row + 3];
      }
      const parent = parents[b];
      for (let row = 0; row < 4; row++) {
        for (let col = 0; col < 4; col++) {
          if (parent < 0) absolutes[16 * b + 4 * row + col] = relative[4 * row + col];
          else {
            let s = 0;
            for (let k = 0; k < 4; k++) s += absolutes[16 * parent + 4 * row + k] * relative[4 * k + col];
            absolutes[16 * b + 4 * row + col] = s;
          }
        }
      }
      for (let row = 0; row < 4; row++) {
        for (let col = 0; col < 4; col++) {
          let s = 0;
          for (let k = 0; k < 4; k++) s += absolutes[16 * b + 4 * row + k] * inverseBaseAbsolutes[16 * b + 4 * k + col];
          transforms[16 * b + 4 * row + col] = s;
        }
      }
    }
    // skin the corresponding vertex (simple), or blend the triangle's three skinned corners (complicated)
    for (let j = 0; j < 3; j++) posed[j] = 0;
    const corners = complicated === 1 ? 3 : 1;
    for (let corner = 0; corner < corners; corner++) {
      // an index may not contain an element read (compiled subset), hence the name for the correspondence
      const matched = correspondences[i];
      let v = matched;
      let weight = 1;
      if (complicated === 1) {
        v = triangles[3 * matched + corner];
        if (corner === 0) weight = us[2 * i];
        else if (corner === 1) weight = us[2 * i + 1];
        else weight = 1 - us[2 * i] - us[2 * i + 1];
      }
      const x = basePositions[3 * v];
      const y = basePositions[3 * v + 1];
      const z = basePositions[3 * v + 2];
      for (let j = 0; j < 3; j++) {
        let p = 0;
        for (let b = 0; b < nBones; b++) {
          if (bonesNeeded[nBones * i + b] === 0) continue; // its weight for v is 0
          p += weights[b * nVertices + v] * (transforms[16 * b + 4 * j] * x + transforms[16 * b + 4 * j + 1] * y
            + transforms[16 * b + 4 * j + 2] * z + transforms[16 * b + 4 * j + 3]);
        }
        posed[j] += weight * p;
      }
    }
    // the global rotation, applied to the point as Rodrigues' formula R·p = p cos θ + (k × p) sin θ + k (k·p)(1 − cos θ)
    // with θ = |a|, k = a/θ (the identity below θ = 10⁻⁴, as ADBench), for the one coordinate summed; then the
    // translation. (The objective blends after the global transform; the barycentric weights sum to 1, so the two
    // agree up to rounding.)
    const a0 = thetas[at];
    const a1 = thetas[at + 1];
    const a2 = thetas[at + 2];
    const norm = Math.sqrt(a0 * a0 + a1 * a1 + a2 * a2);
    let rotated = posed[coordinate];
    if (norm >= 0.0001) {
      axis[0] = a0 / norm;
      axis[1] = a1 / norm;
      axis[2] = a2 / norm;
      const c = Math.cos(norm);
      const next = (coordinate + 1) % 3;
      const after = (coordinate + 2) % 3;
      const along = (axis[0] * posed[0] + axis[1] * posed[1] + axis[2] * posed[2]) * (1 - c);
      rotated = posed[coordinate] * c + (axis[next] * posed[after] - axis[after] * posed[next]) * Math.sin(norm) + axis[coordinate] * along;
    }
    const onHand = rotated + thetas[at + 3 + coordinate];
    total += points[3 * i + coordinate] - onHand;
  }
  return total;
}

/**
 * bonesNeeded[nBones·i + b] = 1 when bone b moves a vertex of correspondence i (its vertex, or in the complicated
 * variant its triangle's three) or is an ancestor of such a bone, else 0: the only bones whose transforms residual i
 * reads (a vertex's skinning weight is 0 for every other bone).
 */
export function bonesNeededPerCorrespondence(model, data, { complicated = false } = {}) {
  const { nBones, nVertices, parents, weights, triangles } = model;
  const needed = new Float64Array(data.nPoints * nBones);
  for (let i = 0; i < data.nPoints; i++) {
    const c = data.correspondences[i];
    const vertices = complicated ? [triangles[3 * c], triangles[3 * c + 1], triangles[3 * c + 2]] : [c];
    for (const v of vertices) {
      for (let b = 0; b < nBones; b++) {
        if (weights[b * nVertices + v] === 0) continue;
        for (let a = b; a >= 0; a = parents[a]) needed[nBones * i + a] = 1;
      }
    }
  }
  return needed;
}

/**
 * Builds the tracegrad Jacobian of an instance's residuals with respect to θ (and, complicated, to the us). `tg` is
 * tracegrad's module (traced, gradient, tierOf). The traced sums close over the model and the data, so tracegrad
 * differentiates only θ (copied per correspondence) and us.
 *
 * Why three gradients of sums rather than `jacobian`: the residuals are 3·nPoints outputs of 26 inputs, so jacobian
 * takes 26 forward-mode passes, but tracegrad compiles `gradient` (and jvp) of number-valued functions only; jacobian
 * of an array-valued function runs on the tape interpreter. Copying θ per correspondence makes the Jacobian's rows
 * separable: one compiled reverse sweep per coordinate yields every row of that coordinate. The price is that each
 * copy recomputes the bone chain (nPoints chains per sweep instead of one), limited to the bones the residual reads.
 *
 * The result is ADBench's dense layout: J[row][col] at jacobian[col·nRows + row] (column-major), the columns θ₀..θ₂₅,
 * and for the complicated variant first ∂err_i/∂u_i0 and ∂err_i/∂u_i1 (each residual reads only its own us).
 */
export function handJacobianBuilder(tg, model, data, { complicated = false } = {}) {
  const { nPoints, correspondences, points } = data;
  const { triangles, nBones, parents, baseRelatives, inverseBaseAbsolutes, nVertices, basePositions, weights } = model;
  const sum = tg.traced(handCorrespondenceSum);
  const flag = complicated ? 1 : 0;
  const bonesNeeded = bonesNeededPerCorrespondence(model, data, { complicated });
  const scope = { sum, flag, nPoints, correspondences, points, triangles, nBones, parents, baseRelatives, inverseBaseAbsolutes, nVertices,
    basePositions, weights, bonesNeeded };
  const rows = [0, 1, 2].map((coordinate) => tg.traced((thetas, us) => sum(thetas, us, coordinate, flag, nPoints, correspondences, points,
    triangles, nBones, parents, baseRelatives, inverseBaseAbsolutes, nVertices, basePositions, weights, bonesNeeded), { ...scope, coordinate }));
  const nRows = 3 * nPoints;
  const uColumns = complicated ? 2 : 0;
  const nCols = uColumns + POSE_PARAMS;
  const thetas = new Float64Array(POSE_PARAMS * nPoints);
  const jacobian = new Float64Array(nRows * nCols);
  const noUs = new Float64Array(2 * nPoints); // read by no simple residual
  const compute = (theta, us = null) => {
    for (let i = 0; i < nPoints; i++) thetas.set(theta, POSE_PARAMS * i);
    for (let coordinate = 0; coordinate < 3; coordinate++) {
      const [dTheta, dUs] = tg.gradient(rows[coordinate], thetas, complicated ? us : noUs);
      for (let i = 0; i < nPoints; i++) {
        const row = 3 * i + coordinate;
        if (complicated) {
          jacobian[row] = dUs[2 * i];
          jacobian[nRows + row] = dUs[2 * i + 1];
        }
        for (let k = 0; k < POSE_PARAMS; k++) jacobian[(uColumns + k) * nRows + row] = dTheta[POSE_PARAMS * i + k];
      }
    }
    return { nRows, nCols, jacobian };
  };
  const tiers = () => Object.fromEntries(rows.map((f, c) => [`coordinate ${c}`, tg.tierOf(f)]));
  return { compute, tiers };
}

/**
 * The simple residuals θ ↦ err (3·nPoints) as a function tracegrad can trace whole, its helpers traced in their
 * scopes: for `jacobian(f, θ)`, tracegrad's own dense Jacobian (forward mode, 26 passes, on the tape interpreter since
 * the compiled tier takes number-valued functions only). The comparison row for handJacobianBuilder.
 */
export function tracedHandResiduals(tg, model, data) {
  const helpers = {};
  helpers.multiply4 = tg.traced(multiply4);
  helpers.eulerRotation = tg.traced(eulerRotation);
  helpers.boneAngles = tg.traced(boneAngles);
  helpers.angleAxisRotation = tg.traced(angleAxisRotation);
  helpers.boneTransforms = tg.traced(boneTransforms, helpers);
  helpers.globalTransform = tg.traced(globalTransform, helpers);
  const skin = tg.traced(skinnedVertices, helpers);
  const { nBones, parents, baseRelatives, inverseBaseAbsolutes, nVertices, basePositions, weights } = model;
  const { nPoints, correspondences, points } = data;
  return tg.traced((theta) => {
    const positions = new Float64Array(3 * nVertices);
    skin(theta, nBones, parents, baseRelatives, inverseBaseAbsolutes, nVertices, basePositions, weights, positions);
    const err = new Array(3 * nPoints);
    for (let i = 0; i < nPoints; i++) {
      const v = correspondences[i];
      for (let j = 0; j < 3; j++) err[3 * i + j] = points[3 * i + j] - positions[3 * v + j];
    }
    return err;
  }, { skin, nBones, parents, baseRelatives, inverseBaseAbsolutes, nVertices, basePositions, weights, nPoints, correspondences, points });
}
